"""Random number generator states in checkpoints.

SkySense pre-training (https://arxiv.org/abs/2312.10115) must resume after a
kill with exactly the losses of the uninterrupted run (on CPU). mmengine
re-seeds on start but does not save the RNG states; this hook does.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from skysense_mm.registry import HOOKS

__all__ = ['RNGStateHook', 'get_rng_state', 'set_rng_state']


def get_rng_state() -> dict:
    """Python, NumPy (global), torch CPU (and CUDA) RNG states.

    Only types that ``torch.load(weights_only=True)`` reads without extra
    safe globals: tuples/ints/str/float and tensors (the NumPy key is stored
    as an int64 tensor).

    Returns:
        dict: ``python``, ``numpy``, ``torch`` and, with CUDA, ``cuda``.
    """
    np_state = np.random.get_state(legacy=False)
    state = dict(
        python=random.getstate(),
        numpy=dict(
            bit_generator=str(np_state['bit_generator']),
            key=torch.from_numpy(
                np.asarray(np_state['state']['key']).astype(np.int64)),
            pos=int(np_state['state']['pos']),
            has_gauss=int(np_state['has_gauss']),
            gauss=float(np_state['gauss'])),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore the states of :func:`get_rng_state`.

    Args:
        state (dict): As returned by :func:`get_rng_state`.
    """
    for key in ('python', 'numpy', 'torch'):
        if key not in state:
            raise KeyError(f'RNG state lacks `{key}`')
    py = state['python']
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state['numpy']
    np.random.set_state(
        dict(
            bit_generator=n['bit_generator'],
            state=dict(
                key=np.asarray(n['key'], dtype=np.int64).astype(np.uint32),
                pos=int(n['pos'])),
            has_gauss=int(n['has_gauss']),
            gauss=float(n['gauss'])))
    torch.set_rng_state(torch.as_tensor(state['torch'], dtype=torch.uint8))
    if 'cuda' in state and torch.cuda.is_available():
        cuda = list(state['cuda'])
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


class _RestoreAfterSkip:
    """Iterator proxy: after ``skip`` batches, restore the RNG, then pass on.

    mmengine's ``IterBasedTrainLoop`` replays ``iter`` batches after a
    resume to advance the sampler; with ``num_workers=0`` the transforms of
    those batches draw from the main-process RNG. Restoring the saved state
    right before the first new batch makes the resumed run draw the same
    numbers as the uninterrupted one.
    """

    def __init__(self, iterator, skip: int, state: dict) -> None:
        self._iterator = iterator
        self._skip = skip
        self._state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip == 0 and self._state is not None:
            set_rng_state(self._state)
            self._state = None
        self._skip = max(self._skip - 1, 0)
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the RNG states in checkpoints and restore them on resume.

    ``before_save_checkpoint`` stores :func:`get_rng_state` under
    ``checkpoint['rng_state']``; ``after_load_checkpoint`` restores it. With
    an iteration-based loop the states are restored once more right before
    the first batch after the dataloader replay of a resume (see
    ``_RestoreAfterSkip``), so the resumed run's losses equal the
    uninterrupted run's on CPU (with a fixed ``randomness.seed`` when data
    workers are used, since mmengine seeds the workers from it).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the RNG states."""
        checkpoint['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the RNG states (and keep them for after the replay)."""
        state = checkpoint.get('rng_state')
        if state is None:
            print_log('RNGStateHook: the checkpoint has no rng_state; RNG '
                      'states are not restored', logger='current')
            return
        set_rng_state(state)
        self._pending = state

    def before_train(self, runner) -> None:
        """Wrap the loop's iterator to restore the RNG after the replay."""
        if self._pending is None:
            return
        loop = runner.train_loop
        it = getattr(loop, 'dataloader_iterator', None)
        if it is not None and getattr(loop, '_iter', 0) > 0:
            loop.dataloader_iterator = _RestoreAfterSkip(
                it, loop._iter, self._pending)
        self._pending = None
