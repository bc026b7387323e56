"""Glue for SkySense scene classification with mmpretrain.

SkySense (https://arxiv.org/abs/2312.10115, Tab. 3) classifies scenes with
its encoders and a linear head. mmpretrain's ``ImageClassifier`` already
runs ``backbone -> neck -> head``; two pieces are added here:

* :class:`SkySenseClassifier`: an ``ImageClassifier`` with a linear-probe
  mode (``freeze_backbone=True``: backbone weights frozen, kept in eval
  mode and run without autograd);
* :class:`SeriesClsDataPreprocessor`: batches ``(T, C, H, W)`` time series
  with their day of year and date mask into the dict input of
  :class:`~skysense_mm.models.backbones.SkySense`
  (``{'s2': (B, T, C, H, W), 's2_doy': (B, T), 's2_mask': (B, T)}``), so an
  S2 series runs through the S2 encoder per date and the fusion transformer
  over time.
"""
from contextlib import nullcontext
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.model import BaseDataPreprocessor
from mmpretrain.models import ImageClassifier

from skysense_mm.registry import MODELS

__all__ = ['SkySenseClassifier', 'SeriesClsDataPreprocessor']


@MODELS.register_module()
class SkySenseClassifier(ImageClassifier):
    """mmpretrain ``ImageClassifier`` with a frozen-backbone mode.

    For SkySense (https://arxiv.org/abs/2312.10115) linear probing and
    fine-tuning. The backbone may take a dict input (e.g.
    ``skysense_mm.SkySense`` with ``s2`` / ``s2_doy`` / ``s2_mask``).

    Args:
        freeze_backbone (bool): Linear probe: backbone parameters get
            ``requires_grad=False``, the backbone stays in eval mode (no
            dropout / drop path) and runs under ``torch.no_grad``.
            Defaults to False (fine-tuning).
        **kwargs: Arguments of mmpretrain ``ImageClassifier`` (``backbone``,
            ``neck``, ``head``, ``data_preprocessor``, ...).
    """

    def __init__(self, freeze_backbone: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.freeze_backbone = bool(freeze_backbone)
        if self.freeze_backbone:
            for param in self.backbone.parameters():
                param.requires_grad_(False)

    def train(self, mode: bool = True):
        """Set the mode; a frozen backbone always stays in eval mode."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def extract_feat(self, inputs, stage: str = 'neck'):
        """Features at ``stage`` (``'backbone'``, ``'neck'``,
        ``'pre_logits'``), as ``ImageClassifier.extract_feat``.

        Args:
            inputs (Tensor | dict): Backbone input.
            stage (str): Output stage. Defaults to ``'neck'``.

        Returns:
            tuple | Tensor: The features of ``stage``.
        """
        if stage not in ('backbone', 'neck', 'pre_logits'):
            raise ValueError(f'Invalid output stage {stage!r}, choose from '
                             "'backbone', 'neck', 'pre_logits'")
        ctx = torch.no_grad() if self.freeze_backbone else nullcontext()
        with ctx:
            x = self.backbone(inputs)
        if stage == 'backbone':
            return x
        if self.with_neck:
            x = self.neck(x)
        if stage == 'neck':
            return x
        return self.head.pre_logits(x)


@MODELS.register_module()
class SeriesClsDataPreprocessor(BaseDataPreprocessor):
    """Batch and normalise image time series for SkySense classification.

    For SkySense (https://arxiv.org/abs/2312.10115). Every sample's input
    is ``(T, C, H, W)`` (all samples of a batch share T, C, H, W); its
    data sample may carry ``doy`` ``(T,)`` and ``date_mask`` ``(T,)``
    metainfo (``PackInputs(meta_keys=('doy', 'date_mask'))``). Output
    inputs: ``{modality: (B, T, C, H, W), modality + '_doy': (B, T) long,
    modality + '_mask': (B, T) bool}`` (the last two when given).

    Args:
        mean (Sequence[float]): Per-band mean (length C).
        std (Sequence[float]): Per-band std (length C).
        modality (str): Input key of the backbone. Defaults to ``'s2'``.
        doy_key (str): Metainfo key of the days of year. Defaults to
            ``'doy'``.
        mask_key (str): Metainfo key of the date mask. Defaults to
            ``'date_mask'``.
        batch_augments (dict, optional): Must be None (set by
            ``ImageClassifier`` from ``train_cfg``).
        non_blocking (bool): Non-blocking device copies. Defaults to False.
    """

    def __init__(self,
                 mean: Sequence[float],
                 std: Sequence[float],
                 modality: str = 's2',
                 doy_key: str = 'doy',
                 mask_key: str = 'date_mask',
                 batch_augments: Optional[dict] = None,
                 non_blocking: bool = False):
        super().__init__(non_blocking)
        if batch_augments is not None:
            raise ValueError('SeriesClsDataPreprocessor: batch_augments are '
                             'not supported for time series')
        if len(mean) != len(std) or not len(mean):
            raise ValueError('SeriesClsDataPreprocessor: `mean` and `std` '
                             'must have the same non-zero length, got '
                             f'{len(mean)} and {len(std)}')
        if min(std) <= 0:
            raise ValueError('SeriesClsDataPreprocessor: `std` must be > 0')
        self.modality = modality
        self.doy_key = doy_key
        self.mask_key = mask_key
        self.register_buffer('mean',
                             torch.tensor(mean, dtype=torch.float32).view(
                                 1, 1, -1, 1, 1), False)
        self.register_buffer('std',
                             torch.tensor(std, dtype=torch.float32).view(
                                 1, 1, -1, 1, 1), False)

    def _meta(self, samples, key, dtype):
        if not samples or key not in samples[0].metainfo_keys():
            return None
        vals = [np.asarray(s.metainfo[key]) for s in samples]
        return torch.as_tensor(np.stack(vals), dtype=dtype,
                               device=self.mean.device)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack, move to the device and normalise.

        Args:
            data (dict): ``inputs`` (list of ``(T, C, H, W)`` tensors or a
                stacked ``(B, T, C, H, W)`` tensor) and ``data_samples``.
            training (bool): Unused.

        Returns:
            dict: ``inputs`` (the backbone dict) and ``data_samples``.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 5:
            raise ValueError('SeriesClsDataPreprocessor: every input must '
                             'be a (T, C, H, W) series, got a batch of '
                             f'shape {tuple(inputs.shape)}')
        if inputs.shape[2] != self.mean.shape[2]:
            raise ValueError(f'SeriesClsDataPreprocessor: inputs have '
                             f'{inputs.shape[2]} bands, mean/std have '
                             f'{self.mean.shape[2]}')
        x = (inputs.float() - self.mean) / self.std
        samples = data.get('data_samples')
        out = {self.modality: x}
        doy = self._meta(samples, self.doy_key, torch.long)
        mask = self._meta(samples, self.mask_key, torch.bool)
        if doy is not None:
            out[f'{self.modality}_doy'] = doy
        if mask is not None:
            out[f'{self.modality}_mask'] = mask
        return dict(inputs=out, data_samples=samples)
