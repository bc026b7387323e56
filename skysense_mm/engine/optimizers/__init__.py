from .layer_decay_optim_wrapper_constructor import (  # noqa: F401
    LayerDecayOptimWrapperConstructor, build_layer_depth_fn,
    swin_v2_layer_depth, vit_layer_depth)

__all__ = ['LayerDecayOptimWrapperConstructor', 'build_layer_depth_fn',
           'swin_v2_layer_depth', 'vit_layer_depth']
