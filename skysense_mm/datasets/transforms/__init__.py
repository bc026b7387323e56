from .loading import LoadSkySensePretrainSample
from .pretrain_transforms import (DateJitter, HRViewColorJitter,
                                  HRViewGaussianBlur, HRViewSolarize,
                                  MultiViewCrop, PackSkySensePretrainInputs,
                                  RandomSubsequence, RandomViewFlipRotate,
                                  correspondence_to_grid, sample_crop_box,
                                  view_correspondence, wrap_doy)

__all__ = ['LoadSkySensePretrainSample']

__all__ += [
    'MultiViewCrop', 'RandomViewFlipRotate', 'HRViewColorJitter',
    'HRViewGaussianBlur', 'HRViewSolarize', 'RandomSubsequence',
    'DateJitter', 'PackSkySensePretrainInputs', 'view_correspondence',
    'correspondence_to_grid', 'sample_crop_box', 'wrap_doy'
]
