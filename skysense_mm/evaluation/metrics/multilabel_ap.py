"""Micro-averaged average precision for multi-label classification.

BigEarthNet (SkySense, https://arxiv.org/abs/2312.10115, Tab. 3) is scored
with the micro mAP of DeCUR / torchmetrics
``multilabel_average_precision(average='micro')``: one AP over all
(sample, class) pairs. mmpretrain's ``AveragePrecision`` only has the macro
average; :class:`MicroAveragePrecision` adds the micro one, computed with
mmpretrain's ``_average_precision`` on the flattened scores, once over the
whole evaluation set (DeCUR averages per-batch values instead).
"""
from typing import List

import torch
from mmpretrain.evaluation import AveragePrecision
from mmpretrain.evaluation.metrics.multi_label import _average_precision

from skysense_mm.registry import METRICS

__all__ = ['MicroAveragePrecision', 'micro_average_precision']


def micro_average_precision(pred: torch.Tensor,
                            target: torch.Tensor) -> torch.Tensor:
    """Micro AP (in %) of ``(N, C)`` scores against ``(N, C)`` 0/1 targets.

    Args:
        pred (Tensor): Scores (N, C).
        target (Tensor): Multi-hot targets (N, C); -1 entries are ignored.

    Returns:
        Tensor: Scalar AP in [0, 100].
    """
    pred = torch.as_tensor(pred, dtype=torch.float32)
    target = torch.as_tensor(target)
    if pred.dim() != 2 or pred.shape != target.shape:
        raise ValueError('micro_average_precision: `pred` and `target` must '
                         f'both be (N, C), got {tuple(pred.shape)} and '
                         f'{tuple(target.shape)}')
    return _average_precision(pred.flatten(), target.flatten()) * 100.0


@METRICS.register_module()
class MicroAveragePrecision(AveragePrecision):
    """Micro mAP (and the macro mAP) of multi-label predictions.

    For SkySense (https://arxiv.org/abs/2312.10115) BigEarthNet. Reports
    ``mAP_micro`` (the paper's metric) and ``mAP_macro`` (mmpretrain's
    ``AveragePrecision``), both in %.

    Args:
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Metric name prefix. Defaults to None
            (``'multi-label'``).
    """

    def __init__(self, collect_device: str = 'cpu', prefix=None) -> None:
        super().__init__(average='macro', collect_device=collect_device,
                         prefix=prefix)

    def compute_metrics(self, results: List) -> dict:
        """Micro and macro mAP over all processed samples."""
        target = torch.stack([res['gt_score'] for res in results])
        pred = torch.stack([res['pred_score'] for res in results])
        return dict(
            mAP_micro=micro_average_precision(pred, target).item(),
            mAP_macro=self.calculate(pred, target, 'macro').item())
