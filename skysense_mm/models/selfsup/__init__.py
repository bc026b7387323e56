from .data_preprocessor import (SkySensePretrainDataPreprocessor,
                                skysense_pretrain_collate)
from .losses import (CLLoss, DINOProjectionHead, cosine_momentum,
                     cross_modal_alignment_loss, dino_cross_entropy,
                     fgcl_loss, image_contrast_loss, object_contrast_loss,
                     pixel_contrast_loss, matched_cells)
from .skysense_pretrain import SkySensePretrain

__all__ = [
    'SkySensePretrainDataPreprocessor', 'skysense_pretrain_collate',
    'CLLoss', 'DINOProjectionHead', 'cosine_momentum',
    'cross_modal_alignment_loss', 'dino_cross_entropy', 'fgcl_loss',
    'image_contrast_loss', 'object_contrast_loss', 'pixel_contrast_loss',
    'matched_cells', 'SkySensePretrain'
]

from .fsdp import (ShardedGradClipOptimWrapper,  # noqa: E402
                   sharded_grad_norm, skysense_pretrain_wrap_policy)

__all__ += ['skysense_pretrain_wrap_policy', 'ShardedGradClipOptimWrapper',
            'sharded_grad_norm']
