from .fusion_neck import SkySenseFusionNeck
from .geo_prototypes import GeoContextPrototypes
__all__ = ['SkySenseFusionNeck', 'GeoContextPrototypes']
