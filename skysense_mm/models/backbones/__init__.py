from .swin_v2 import SkySenseSwinV2
from .vit import SkySenseViT
from .skysense import SkySense
from .siamese import SiameseBackbone
__all__ = ['SkySenseSwinV2', 'SkySenseViT', 'SkySense']
__all__ += ['SiameseBackbone']
