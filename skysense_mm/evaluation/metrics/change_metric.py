"""F1 of the change class for binary change detection.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), Tab. 2c, reports the
F1 of the change class on LEVIR-CD and OSCD. :class:`ChangeDetectionMetric`
reuses mmseg ``IoUMetric``: per-image intersection / union / prediction /
label histograms (``ignore_index`` pixels dropped), summed over the whole
split, then precision, recall, F1 and IoU of the change class from the
summed pixel counts (a global pixel F1, as BIT / open-cd compute it on
LEVIR-CD; SeCo's OSCD code instead averages per-batch F1, which this does
not reproduce).
"""
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation import IoUMetric

from skysense_mm.registry import METRICS

__all__ = ['ChangeDetectionMetric', 'change_scores']


def change_scores(tp: float, fp: float, fn: float) -> Dict[str, float]:
    """Precision, recall, F1 and IoU of one class from pixel counts.

    ``F1 = 2TP / (2TP + FP + FN)`` (equal to the harmonic mean of precision
    and recall whenever both are defined). A ratio with a zero denominator
    is NaN: an undefined score is never reported as 0 or 1.

    Args:
        tp (float): True-positive pixels.
        fp (float): False-positive pixels.
        fn (float): False-negative pixels.

    Returns:
        dict: ``precision``, ``recall``, ``f1``, ``iou`` in [0, 1] or NaN.
    """

    def ratio(num, den):
        return float(num) / float(den) if den > 0 else float('nan')

    return dict(
        precision=ratio(tp, tp + fp),
        recall=ratio(tp, tp + fn),
        f1=ratio(2 * tp, 2 * tp + fp + fn),
        iou=ratio(tp, tp + fp + fn))


@METRICS.register_module()
class ChangeDetectionMetric(IoUMetric):
    """Precision / recall / F1 / IoU of the change class (in %).

    Output keys: ``F1``, ``Precision``, ``Recall``, ``IoU`` (of class
    ``change_index``), plus mmseg's ``aAcc`` and ``mIoU`` over both classes.

    Args:
        change_index (int): Class index of "changed". Defaults to 1.
        ignore_index (int): Label value excluded from all counts.
            Defaults to 255.
        nan_to_num (float, optional): Replace undefined scores (zero
            denominator, e.g. no change in labels nor predictions) by this;
            None (default) keeps NaN.
        **kwargs: Passed to mmseg ``IoUMetric`` (``collect_device``,
            ``prefix``, ``output_dir``, ``format_only``).
    """

    def __init__(self,
                 change_index: int = 1,
                 ignore_index: int = 255,
                 nan_to_num: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(
            ignore_index=ignore_index,
            iou_metrics=['mIoU'],
            nan_to_num=nan_to_num,
            **kwargs)
        self.change_index = change_index

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Sum the histograms over the split and score the change class.

        Args:
            results (list): ``IoUMetric.intersect_and_union`` tuples.

        Returns:
            dict: Scores in percent (2 decimals), NaN where undefined.
        """
        logger = MMLogger.get_current_instance()
        if self.format_only:
            logger.info(f'results are saved to {self.output_dir}')
            return OrderedDict()
        totals = [sum(r[i] for r in results).double() for i in range(4)]
        inter, union, pred, label = (t.numpy() for t in totals)
        c = self.change_index
        scores = change_scores(
            tp=inter[c], fp=pred[c] - inter[c], fn=label[c] - inter[c])
        base = self.total_area_to_metrics(*totals, ['mIoU'], None)
        out = OrderedDict(
            F1=scores['f1'], Precision=scores['precision'],
            Recall=scores['recall'], IoU=scores['iou'],
            aAcc=float(base['aAcc']), mIoU=float(np.nanmean(base['IoU'])))
        for key, value in out.items():
            if np.isnan(value) and self.nan_to_num is not None:
                value = float(self.nan_to_num)
            out[key] = round(value * 100, 2) if not np.isnan(value) \
                else float('nan')
        print_log(
            f'change class {c}: TP={inter[c]:.0f} FP={pred[c] - inter[c]:.0f}'
            f' FN={label[c] - inter[c]:.0f}', logger=logger)
        return out
