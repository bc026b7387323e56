from .official_ckpt import (convert_official_state_dict, diff_state_dict,
                            load_converted_state_dict,
                            to_official_state_dicts)
from .meta_build import build_model_on_meta, init_on_meta, meta_device
from .sinkhorn import sinkhorn_cluster, sinkhorn_knopp
__all__ = [
    'convert_official_state_dict', 'diff_state_dict',
    'load_converted_state_dict', 'to_official_state_dicts',
    'build_model_on_meta', 'init_on_meta', 'meta_device',
    'sinkhorn_knopp', 'sinkhorn_cluster'
]
