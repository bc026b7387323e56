from .transforms import *  # noqa: F401,F403
from .change_detection import LEVIRCDDataset, OSCDDataset
from .pretrain_dataset import SkySensePretrainDataset
from .pretrain_format import PretrainSampleError

__all__ = ['SkySensePretrainDataset', 'PretrainSampleError']
__all__ += ['LEVIRCDDataset', 'OSCDDataset']

from .isaid import ISAIDDataset  # noqa: E402
from .potsdam import PotsdamDataset  # noqa: E402

__all__ += ['ISAIDDataset', 'PotsdamDataset']

from .dior import DIORDataset, DIORRDataset  # noqa: E402
__all__ += ['DIORDataset', 'DIORRDataset']

from .scene_cls import AIDDataset, RESISC45Dataset  # noqa: E402
__all__ += ['AIDDataset', 'RESISC45Dataset']

from .dynamic_earthnet import DynamicEarthNetDataset  # noqa: E402

__all__ += ['DynamicEarthNetDataset']
from .bigearthnet import BigEarthNetS2Dataset, LoadBigEarthNetS2Bands  # noqa: E402,E501
from .fmow_sentinel import FMoWSentinelDataset, LoadFMoWSentinelSeries  # noqa: E402,E501
__all__ += ['BigEarthNetS2Dataset', 'LoadBigEarthNetS2Bands', 'FMoWSentinelDataset', 'LoadFMoWSentinelSeries']  # noqa: E501
from .fair1m import FAIR1M_CLASSES, FAIR1MDataset  # noqa: E402
__all__ += ['FAIR1M_CLASSES', 'FAIR1MDataset']
