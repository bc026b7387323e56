from .transforms import *  # noqa: F401,F403
from .pretrain_dataset import SkySensePretrainDataset
from .pretrain_format import PretrainSampleError

__all__ = ['SkySensePretrainDataset', 'PretrainSampleError']
