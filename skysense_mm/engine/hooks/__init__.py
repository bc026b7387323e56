from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state
from .teacher_ema_hook import TeacherEMAHook, ema_update_

__all__ = [
    'RNGStateHook', 'get_rng_state', 'set_rng_state', 'TeacherEMAHook',
    'ema_update_'
]
from .multiband_seg_visualization_hook import MultiBandSegVisualizationHook  # noqa: E402

__all__ += ['MultiBandSegVisualizationHook']
