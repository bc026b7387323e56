from .change_detection import (LoadBiTemporalImageFromFile,
                               LoadChangeLabelFromFile, read_band_stack)
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
__all__ += ['LoadBiTemporalImageFromFile', 'LoadChangeLabelFromFile',
            'read_band_stack']

from .seg_loading import LoadCheckedSegAnnotations  # noqa: E402

__all__ += ['LoadCheckedSegAnnotations']

from .dynamic_earthnet_loading import (  # noqa: E402
    LoadDynamicEarthNetAnnotations, LoadDynamicEarthNetImage)

__all__ += ['LoadDynamicEarthNetImage', 'LoadDynamicEarthNetAnnotations']
