"""Per-class F1 and mF1 for semantic segmentation, the ISPRS Potsdam metric
of the SkySense benchmark (https://arxiv.org/abs/2312.10115, Tab. 2a).

Potsdam is reported as the mean F1 over the five classes without clutter
(RSP/RVSA protocol, see the design's BENCHMARK_PROTOCOLS.md). mmseg's
``IoUMetric(iou_metrics=['mFscore'])`` averages every class; this metric
reuses its per-sample accumulation and adds ``ignore_classes``, which are
reported per class but left out of the means.
"""
from collections import OrderedDict
from typing import Dict, Sequence

import numpy as np
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation.metrics import IoUMetric
from prettytable import PrettyTable

from skysense_mm.registry import METRICS


def f1_from_areas(intersect: np.ndarray, pred: np.ndarray,
                  label: np.ndarray) -> np.ndarray:
    """Per-class F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (|pred| + |gt|).

    Args:
        intersect (np.ndarray): True positives per class.
        pred (np.ndarray): Predicted pixels per class (TP + FP).
        label (np.ndarray): Ground-truth pixels per class (TP + FN).

    Returns:
        np.ndarray: F1 per class in [0, 1]; NaN where a class is neither in
        the ground truth nor predicted.
    """
    denom = (pred + label).astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(denom > 0, 2.0 * intersect / denom, np.nan)


@METRICS.register_module()
class SegF1Metric(IoUMetric):
    """Per-class F1, mF1, mIoU and overall accuracy with excluded classes.

    Pixels whose ground truth is ``ignore_index`` are dropped (mmseg rule).
    ``ignore_classes`` (names from the dataset's ``classes``) still count
    as predictions and ground truth for the other classes' F1, but are left
    out of ``mF1``/``mIoU``. Classes absent from both ground truth and
    prediction have NaN scores and are left out of the means. ``aAcc`` is
    the accuracy over all non-ignored pixels. Values are percentages.

    Args:
        ignore_classes (Sequence[str]): Class names excluded from the means,
            e.g. ``('clutter',)`` for Potsdam. Defaults to ().
        ignore_index (int): Ground-truth value to ignore. Defaults to 255.
        **kwargs: Passed to mmseg ``IoUMetric`` (``collect_device``,
            ``prefix``, ``output_dir``, ``format_only``).
    """

    def __init__(self,
                 ignore_classes: Sequence[str] = (),
                 ignore_index: int = 255,
                 **kwargs) -> None:
        kwargs.pop('iou_metrics', None)
        super().__init__(ignore_index=ignore_index, iou_metrics=['mIoU'],
                         **kwargs)
        self.ignore_classes = tuple(ignore_classes)

    def _kept(self, class_names: Sequence[str]) -> np.ndarray:
        unknown = [c for c in self.ignore_classes if c not in class_names]
        if unknown:
            raise ValueError(f'SegF1Metric.ignore_classes: {unknown} are not '
                             f'classes of the dataset {tuple(class_names)}')
        return np.array([c not in self.ignore_classes for c in class_names])

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute aAcc, mF1, mIoU and per-class F1 from the accumulated
        areas.

        Args:
            results (list): ``(intersect, union, pred, label)`` per sample.

        Returns:
            dict: ``aAcc``, ``mF1``, ``mIoU`` and ``F1.<class>`` (percent).
        """
        if self.format_only:
            return OrderedDict()
        class_names = self.dataset_meta['classes']
        kept = self._kept(class_names)
        inter, union, pred, label = (
            sum(r[i] for r in results).cpu().numpy().astype(np.float64)
            for i in range(4))
        f1 = f1_from_areas(inter, pred, label)
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = np.where(union > 0, inter / union, np.nan)
        total = label.sum()

        def mean(x):
            x = x[kept]
            return float('nan') if np.all(np.isnan(x)) else float(
                np.round(np.nanmean(x) * 100, 2))

        metrics = OrderedDict(
            aAcc=float(np.round(inter.sum() / total * 100, 2))
            if total > 0 else float('nan'),
            mF1=mean(f1),
            mIoU=mean(iou))
        table = PrettyTable(['Class', 'F1', 'IoU', 'in mF1'])
        for name, f, i, k in zip(class_names, f1, iou, kept):
            metrics[f'F1.{name}'] = float(np.round(f * 100, 2))
            table.add_row([name, round(f * 100, 2), round(i * 100, 2),
                           'yes' if k else 'no'])
        print_log('per class results:\n' + table.get_string(),
                  logger=MMLogger.get_current_instance())
        return metrics
