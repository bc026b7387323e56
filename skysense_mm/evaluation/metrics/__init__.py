from .change_metric import ChangeDetectionMetric, change_scores
__all__ = []
__all__ += ['ChangeDetectionMetric', 'change_scores']

from .seg_f1 import SegF1Metric, f1_from_areas  # noqa: E402

__all__ += ['SegF1Metric', 'f1_from_areas']
