from .transforms import *  # noqa: F401,F403
from .change_detection import LEVIRCDDataset, OSCDDataset
from .pretrain_dataset import SkySensePretrainDataset
from .pretrain_format import PretrainSampleError

__all__ = ['SkySensePretrainDataset', 'PretrainSampleError']
__all__ += ['LEVIRCDDataset', 'OSCDDataset']

from .isaid import ISAIDDataset  # noqa: E402
from .potsdam import PotsdamDataset  # noqa: E402

__all__ += ['ISAIDDataset', 'PotsdamDataset']
