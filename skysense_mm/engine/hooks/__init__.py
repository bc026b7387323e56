from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state
from .teacher_ema_hook import TeacherEMAHook, ema_update_

__all__ = [
    'RNGStateHook', 'get_rng_state', 'set_rng_state', 'TeacherEMAHook',
    'ema_update_'
]
