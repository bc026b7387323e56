"""Data preprocessor of SkySense pre-training.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.3 and §4.1.

Turns the packed samples of ``PackSkySensePretrainInputs`` (data contract,
section 2) into normalised batched tensors for :class:`SkySensePretrain`.
"""
from typing import Dict, List, Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import FUNCTIONS

from skysense_mm.registry import MODELS

__all__ = ['SkySensePretrainDataPreprocessor', 'skysense_pretrain_collate']

# REFERENCE.md, "Normalisation used with the released weights"
HR_MEAN = [123.675, 116.28, 103.53]  # ImageNet mean * 255
HR_STD = [58.395, 57.12, 57.375]  # ImageNet std * 255
S2_MEAN = [
    884.30, 1144.16, 1297.47, 1624.91, 2194.64, 2422.21, 2517.76, 2581.65,
    2368.51, 1805.07
]
S2_STD = [
    1155.15, 1183.63, 1368.11, 1370.27, 1355.55, 1416.51, 1474.79, 1439.31,
    1455.52, 1343.48
]
S1_MEAN = [-12.548, -20.192]
S1_STD = [5.257, 5.912]

_SERIES = ('s2', 's1')


@FUNCTIONS.register_module(name='skysense_pretrain_collate')
def skysense_pretrain_collate(data_batch: Sequence[dict]) -> dict:
    """Keep packed pre-training samples as lists (modalities may differ).

    ``pseudo_collate`` fails when samples have different modalities; this
    returns ``dict(inputs=[per-sample inputs], data_samples=[...])`` and the
    data preprocessor does the batching. Use it as
    ``collate_fn=dict(type='skysense_pretrain_collate')``.

    Args:
        data_batch (Sequence[dict]): Packed samples.

    Returns:
        dict: ``inputs`` and ``data_samples`` lists.
    """
    return dict(
        inputs=[d['inputs'] for d in data_batch],
        data_samples=[d.get('data_samples') for d in data_batch])


def _as_sample_list(data) -> List[dict]:
    """Any of the accepted batch layouts -> list of per-sample dicts."""
    if isinstance(data, (list, tuple)):
        return [dict(inputs=d['inputs'], data_samples=d.get('data_samples'))
                for d in data]
    if not isinstance(data, dict) or 'inputs' not in data:
        raise TypeError('SkySensePretrainDataPreprocessor expects a list of '
                        "packed samples or a dict with 'inputs', got "
                        f'{type(data)}')
    inputs, samples = data['inputs'], data.get('data_samples')
    if isinstance(inputs, dict):
        raise TypeError(
            "SkySensePretrainDataPreprocessor: 'inputs' is a collated dict; "
            "set the dataloader's collate_fn="
            "dict(type='skysense_pretrain_collate')")
    if samples is None:
        samples = [None] * len(inputs)
    return [dict(inputs=i, data_samples=s) for i, s in zip(inputs, samples)]


@MODELS.register_module()
class SkySensePretrainDataPreprocessor(BaseDataPreprocessor):
    """Normalise, stack views and pad series of packed pre-training samples.

    Output ``inputs`` (a dict; ``V`` HR views, the first ``num_global``
    global, each with matching S2/S1 views):

    - ``hr``: list of ``V`` tensors ``(B, 3, H_v, W_v)``, normalised (/255
      then ImageNet mean/std);
    - ``s2`` / ``s1``: list of ``num_global`` tensors ``(B, T, C, h, w)``,
      normalised with the per-band mean/std of REFERENCE.md, padded with
      zeros to the longest series of the batch (padded dates are zero; with
      ``s2_valid`` packed, ``PackSkySensePretrainInputs(with_pixel_valid=
      True)``, invalid pixels are set to 0, the band mean); ``s2_doy``:
      ``(B, T)`` (padding: day 1); ``s2_mask``: ``(B, T)`` bool, False for
      padding and for samples without the modality; ``s2_present``:
      ``(B,)`` bool;
    - ``latlon``: ``(B, 2)`` float32.

    ``data_samples`` is the list of per-sample data elements (view boxes,
    flips, rotations).

    Args:
        hr_mean, hr_std, s2_mean, s2_std, s1_mean, s1_std (Sequence[float]):
            Normalisation; defaults from REFERENCE.md.
        num_global (int): Global views (with S2/S1). Defaults to 2.
    """

    def __init__(self,
                 hr_mean: Sequence[float] = HR_MEAN,
                 hr_std: Sequence[float] = HR_STD,
                 s2_mean: Sequence[float] = S2_MEAN,
                 s2_std: Sequence[float] = S2_STD,
                 s1_mean: Sequence[float] = S1_MEAN,
                 s1_std: Sequence[float] = S1_STD,
                 num_global: int = 2) -> None:
        super().__init__()
        for name, mean, std in (('hr', hr_mean, hr_std),
                                ('s2', s2_mean, s2_std), ('s1', s1_mean,
                                                          s1_std)):
            if len(mean) != len(std):
                raise ValueError(f'{name}_mean and {name}_std differ in '
                                 'length')
            self.register_buffer(f'{name}_mean',
                                 torch.tensor(mean, dtype=torch.float32),
                                 False)
            self.register_buffer(f'{name}_std',
                                 torch.tensor(std, dtype=torch.float32),
                                 False)
        self.num_global = num_global

    def _norm(self, x: torch.Tensor, name: str, channel_dim: int,
              sample_id) -> torch.Tensor:
        mean = getattr(self, f'{name}_mean')
        std = getattr(self, f'{name}_std')
        if x.shape[channel_dim] != mean.numel():
            raise ValueError(f'sample {sample_id}: `{name}` has '
                             f'{x.shape[channel_dim]} bands, expected '
                             f'{mean.numel()}')
        shape = [1] * x.dim()
        shape[channel_dim] = -1
        x = x.to(self.device, torch.float32)
        return (x - mean.view(shape)) / std.view(shape)

    def forward(self, data, training: bool = False) -> dict:
        """Batch the packed samples; see the class docstring.

        Args:
            data (list[dict] | dict): Packed samples, or the output of
                :func:`skysense_pretrain_collate`.
            training (bool): Unused (same processing in both modes).

        Returns:
            dict: ``inputs`` and ``data_samples``.
        """
        samples = _as_sample_list(data)
        if not samples:
            raise ValueError('SkySensePretrainDataPreprocessor: empty batch')
        ids = [
            getattr(s['data_samples'], 'sample_id', i)
            if s['data_samples'] is not None else i
            for i, s in enumerate(samples)
        ]
        inputs: Dict[str, object] = {}
        # HR views
        num_views = None
        for sid, s in zip(ids, samples):
            hr = s['inputs'].get('hr')
            if not isinstance(hr, (list, tuple)) or not hr:
                raise ValueError(f'sample {sid}: inputs `hr` must be a '
                                 'non-empty list of views')
            if num_views is None:
                num_views = len(hr)
            elif len(hr) != num_views:
                raise ValueError(f'sample {sid}: {len(hr)} HR views, other '
                                 f'samples have {num_views}')
        if num_views < self.num_global:
            raise ValueError(f'{num_views} HR views, need at least '
                             f'num_global={self.num_global}')
        views = []
        for v in range(num_views):
            imgs = [
                self._norm(torch.as_tensor(s['inputs']['hr'][v]), 'hr', 0,
                           sid) for sid, s in zip(ids, samples)
            ]
            shapes = {tuple(i.shape) for i in imgs}
            if len(shapes) != 1:
                raise ValueError(f'HR view {v} differs in shape across the '
                                 f'batch: {sorted(shapes)}')
            views.append(torch.stack(imgs))
        inputs['hr'] = views
        # series
        for m in _SERIES:
            present = [m in s['inputs'] for s in samples]
            if not any(present):
                continue
            ref = next(s['inputs'] for s in samples if m in s['inputs'])
            inputs[m], inputs[m + '_doy'], inputs[m + '_mask'] = \
                self._batch_series(m, samples, ids, ref)
            inputs[m + '_present'] = torch.tensor(present, device=self.device)
        latlon = []
        for sid, s in zip(ids, samples):
            ll = s['inputs'].get('latlon')
            if ll is None:
                raise ValueError(f'sample {sid}: inputs `latlon` is missing')
            latlon.append(torch.as_tensor(ll, dtype=torch.float32).reshape(2))
        inputs['latlon'] = torch.stack(latlon).to(self.device)
        return dict(
            inputs=inputs, data_samples=[s['data_samples'] for s in samples])

    def _batch_series(self, m: str, samples: List[dict], ids: list,
                      ref: dict):
        nv = self.num_global
        lengths = []
        for sid, s in zip(ids, samples):
            if m not in s['inputs']:
                continue
            for key in (m, m + '_doy', m + '_mask'):
                val = s['inputs'].get(key)
                if not isinstance(val, (list, tuple)) or len(val) != nv:
                    raise ValueError(f'sample {sid}: inputs `{key}` must be '
                                     f'a list of {nv} views')
            for v in range(nv):
                t = s['inputs'][m][v].shape[0]
                if s['inputs'][m + '_doy'][v].shape[0] != t or \
                        s['inputs'][m + '_mask'][v].shape[0] != t:
                    raise ValueError(f'sample {sid}: `{m}` view {v} has {t} '
                                     f'dates but `{m}_doy`/`{m}_mask` differ')
                lengths.append(t)
        t_max = max(lengths)
        c, h, w = ref[m][0].shape[1:]
        out_x, out_doy, out_mask = [], [], []
        for v in range(nv):
            xs, doys, masks = [], [], []
            for sid, s in zip(ids, samples):
                x = torch.zeros(t_max, c, h, w, device=self.device)
                doy = torch.ones(t_max, dtype=torch.long, device=self.device)
                mask = torch.zeros(t_max, dtype=torch.bool,
                                   device=self.device)
                if m in s['inputs']:
                    xi = torch.as_tensor(s['inputs'][m][v])
                    if tuple(xi.shape[1:]) != (c, h, w):
                        raise ValueError(
                            f'sample {sid}: `{m}` view {v} has shape '
                            f'{tuple(xi.shape)}, other samples '
                            f'(T, {c}, {h}, {w})')
                    t = xi.shape[0]
                    mi = torch.as_tensor(s['inputs'][m + '_mask'][v]).bool()
                    xn = self._norm(xi, m, 1, sid)
                    valid = s['inputs'].get(m + '_valid')
                    if valid is not None:
                        # invalid pixels (nodata / cloud) -> the band mean
                        pv = torch.as_tensor(valid[v]).bool().to(self.device)
                        if tuple(pv.shape) != (t, h, w):
                            raise ValueError(
                                f'sample {sid}: `{m}_valid` view {v} must be '
                                f'{(t, h, w)}, got {tuple(pv.shape)}')
                        xn = xn * pv[:, None]
                    x[:t] = xn * mi.to(self.device)[:, None, None, None]
                    doy[:t] = torch.as_tensor(
                        s['inputs'][m + '_doy'][v]).long().to(self.device)
                    mask[:t] = mi.to(self.device)
                xs.append(x)
                doys.append(doy)
                masks.append(mask)
            out_x.append(torch.stack(xs))
            out_doy.append(torch.where(
                torch.stack(masks), torch.stack(doys), 1))
            out_mask.append(torch.stack(masks))
        return out_x, out_doy, out_mask
