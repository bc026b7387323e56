from .change_metric import ChangeDetectionMetric, change_scores
__all__ = []
__all__ += ['ChangeDetectionMetric', 'change_scores']

from .seg_f1 import SegF1Metric, f1_from_areas  # noqa: E402

__all__ += ['SegF1Metric', 'f1_from_areas']

from .scs_metric import DynamicEarthNetMetric  # noqa: E402

__all__ += ['DynamicEarthNetMetric']
from .multilabel_ap import MicroAveragePrecision, micro_average_precision  # noqa: E402,E501
__all__ += ['MicroAveragePrecision', 'micro_average_precision']
from .fair1m_metric import FAIR1MMetric  # noqa: E402
__all__ += ['FAIR1MMetric']
