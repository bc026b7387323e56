"""RNGStateHook and TeacherEMAHook of SkySense pre-training
(https://arxiv.org/abs/2312.10115)."""
import random

import numpy as np
import pytest
import torch
from mmengine.registry import HOOKS as MMENGINE_HOOKS

import skysense_mm  # noqa: F401  (compat: safe checkpoint loading)
from skysense_mm.engine.hooks import (RNGStateHook, TeacherEMAHook,
                                      ema_update_, get_rng_state,
                                      set_rng_state)
from skysense_mm.engine.hooks.rng_state_hook import _RestoreAfterSkip


def _draw():
    return (random.random(), np.random.rand(3).tolist(),
            np.random.randn(), torch.rand(3).tolist(),
            torch.randn(2).tolist())


def test_rng_state_round_trip_through_safe_torch_load(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.randn()  # leaves a cached gaussian in the numpy state
    hook = RNGStateHook()
    checkpoint = dict(meta=dict())
    hook.before_save_checkpoint(None, checkpoint)
    expected = _draw()
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint, path)
    # scramble, then load with safe loading (weights_only=True)
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    _draw()
    loaded = torch.load(path, weights_only=True)
    hook.after_load_checkpoint(None, loaded)
    assert _draw() == expected


def test_set_rng_state_errors_and_get_is_plain():
    state = get_rng_state()
    assert isinstance(state['torch'], torch.Tensor)
    assert state['torch'].dtype == torch.uint8
    assert isinstance(state['numpy']['key'], torch.Tensor)
    with pytest.raises(KeyError, match='numpy'):
        set_rng_state(dict(python=state['python']))


def test_restore_after_skip_restores_before_first_new_batch():
    torch.manual_seed(0)
    state = get_rng_state()
    want = torch.rand(1).item()

    def batches():
        while True:
            yield torch.rand(1).item()  # a "transform" drawing numbers

    torch.manual_seed(123)
    it = _RestoreAfterSkip(batches(), skip=2, state=state)
    next(it)
    next(it)  # the replayed batches draw from a scrambled RNG
    assert next(it) == want  # the first new batch sees the saved state


def test_hooks_registered():
    assert MMENGINE_HOOKS.get('skysense_mm.TeacherEMAHook') is TeacherEMAHook
    assert MMENGINE_HOOKS.get('skysense_mm.RNGStateHook') is RNGStateHook


def test_ema_update_exact():
    teacher = [torch.ones(3), torch.zeros(2, 2)]
    student = [torch.full((3, ), 3.0), torch.ones(2, 2)]
    ema_update_(teacher, student, 0.75)
    assert torch.allclose(teacher[0], torch.full((3, ), 1.5))
    assert torch.allclose(teacher[1], torch.full((2, 2), 0.25))


class _Wrapper:

    def __init__(self, accumulate):
        self.accumulate = accumulate

    def should_update(self):
        return not self.accumulate


class _Model(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.s = torch.nn.Parameter(torch.ones(2))
        self.t = torch.nn.Parameter(torch.zeros(2), requires_grad=False)

    def ema_pairs(self):
        return [self.s], [self.t], [], []


class _MessageHub:

    def __init__(self):
        self.scalars = {}

    def update_scalar(self, key, value):
        self.scalars[key] = value


class _Runner:

    def __init__(self, accumulate):
        self.model = _Model()
        self.optim_wrapper = _Wrapper(accumulate)
        self.iter = 0
        self.max_iters = 10
        self.message_hub = _MessageHub()


def test_teacher_ema_hook_skips_accumulation_iterations():
    runner = _Runner(accumulate=True)
    hook = TeacherEMAHook(base_momentum=0.5, final_momentum=1.0)
    hook.after_train_iter(runner, 0)
    assert torch.equal(runner.model.t, torch.zeros(2))
    runner = _Runner(accumulate=False)
    hook.after_train_iter(runner, 0)
    assert torch.allclose(runner.model.t, torch.full((2, ), 0.5))
    assert runner.message_hub.scalars['train/teacher_momentum'] == 0.5


def test_teacher_ema_hook_refuses_mismatched_pairs_once():
    """A student/teacher pair of different shapes (e.g. sharded differently
    under FSDP) is an error naming the parameter; the layout is checked on
    the first update only."""

    class _Mismatched(_Model):

        def ema_pairs(self):
            return [self.s], [torch.zeros(3)], [], []

    hook = TeacherEMAHook()
    with pytest.raises(RuntimeError, match='parameter 0 are sharded '
                       'differently'):
        hook.update(_Mismatched(), 0, 10)
    model = _Model()
    hook = TeacherEMAHook()
    hook.update(model, 0, 10)
    assert hook._pairs_checked
    moved = model.t.detach().clone()
    assert not torch.equal(moved, torch.zeros(2))
    hook.update(model, 1, 10)  # no re-check; the EMA still runs
    assert not torch.equal(model.t.detach(), moved)
