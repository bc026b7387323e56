"""Explicit teacher update of SkySense pre-training.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.3: the teacher's
parameters are an exponential moving average of the student's. Unlike
mmpretrain's DINO project (whose teacher is never updated), the update runs
here, after every optimizer step, with the cosine momentum schedule of DINO.
"""
from typing import Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from skysense_mm.registry import HOOKS
from skysense_mm.models.selfsup.losses import cosine_momentum

__all__ = ['TeacherEMAHook', 'ema_update_']


def _fsdp_root(model):
    """The model if it is an FSDP module (e.g. mmengine's
    ``MMFullyShardedDataParallel``), else None."""
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel
    except ImportError:  # pragma: no cover
        return None
    return model if isinstance(model, FullyShardedDataParallel) else None


@torch.no_grad()
def ema_update_(teacher: Sequence[torch.Tensor],
                student: Sequence[torch.Tensor], momentum: float) -> None:
    """``teacher <- momentum * teacher + (1 - momentum) * student`` in place.

    Uses ``torch._foreach_mul_`` / ``torch._foreach_add_`` over the whole
    parameter lists (as DINOv2).

    Args:
        teacher (Sequence[Tensor]): Updated in place.
        student (Sequence[Tensor]): Same shapes, same order.
        momentum (float): In [0, 1].
    """
    teacher, student = list(teacher), list(student)
    if len(teacher) != len(student):
        raise ValueError(f'{len(teacher)} teacher tensors vs '
                         f'{len(student)} student tensors')
    if not teacher:
        return
    torch._foreach_mul_(teacher, momentum)
    torch._foreach_add_(teacher, student, alpha=1 - momentum)


@HOOKS.register_module()
class TeacherEMAHook(Hook):
    """EMA of the student into the teacher after each optimizer step.

    The model (or the model inside a wrapper) must have ``ema_pairs()``
    returning ``(student params, teacher params, student buffers, teacher
    buffers)`` (:class:`~skysense_mm.models.selfsup.SkySensePretrain`).
    After the step of iteration ``i`` (0-based) the momentum is
    ``m_i = final - (final - base) * (cos(pi * i / max_iters) + 1) / 2`` and
    ``teacher <- m_i teacher + (1 - m_i) student``; buffers (the geo-context
    prototypes, the L_CL centres are not in the teacher) are copied from the
    student. With gradient accumulation, iterations without an optimizer
    step are skipped. The momentum is logged as ``teacher_momentum``.

    Args:
        base_momentum (float): Momentum at iteration 0. Defaults to 0.996.
        final_momentum (float): Momentum at the last iteration.
            Defaults to 1.0.
        max_iters (int, optional): Length of the schedule. Defaults to None
            (the runner's ``max_iters``).
        copy_buffers (bool): Copy the student's buffers. Defaults to True.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 base_momentum: float = 0.996,
                 final_momentum: float = 1.0,
                 max_iters: Optional[int] = None,
                 copy_buffers: bool = True) -> None:
        if not 0 <= base_momentum <= 1 or not 0 <= final_momentum <= 1:
            raise ValueError('momentum values must be in [0, 1], got '
                             f'{base_momentum}, {final_momentum}')
        self.base_momentum = base_momentum
        self.final_momentum = final_momentum
        self.max_iters = max_iters
        self.copy_buffers = copy_buffers

    def momentum(self, step: int, max_iters: int) -> float:
        """Scheduled momentum after the optimizer step of ``step``."""
        return cosine_momentum(step, max_iters, self.base_momentum,
                               self.final_momentum)

    def update(self, model, step: int, max_iters: int) -> float:
        """Apply the EMA with the momentum of ``step``; return it.

        Under FSDP (``use_orig_params=True``) the parameters are this rank's
        slices: the student and teacher layers are units of the same layout
        (``skysense_pretrain_wrap_policy``), so their slices match and are
        updated locally; the root unit (student and teacher parameters at
        different offsets) is gathered with ``summon_full_params(recurse=
        False, writeback=True)`` around the update.
        """
        fsdp = _fsdp_root(model)
        if is_model_wrapper(model):
            model = model.module
        if not hasattr(model, 'ema_pairs'):
            raise TypeError(f'TeacherEMAHook: {type(model).__name__} has no '
                            'ema_pairs() (use SkySensePretrain)')
        m = self.momentum(step, max_iters)
        if fsdp is None:
            self._apply(model, m)
            return m
        if not getattr(fsdp, '_use_orig_params', False):
            raise ValueError('TeacherEMAHook under FSDP needs '
                             'use_orig_params=True in the model wrapper')
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        with FSDP.summon_full_params(fsdp, recurse=False, writeback=True):
            self._apply(model, m)
        return m

    def _apply(self, model, m: float) -> None:
        sp, tp, sb, tb = model.ema_pairs()
        # the layout of the pairs is fixed once the model is wrapped: check it
        # on the first update only
        if not getattr(self, '_pairs_checked', False):
            self._check_pairs(model, sp, tp)
            self._pairs_checked = True
        ema_update_(tp, sp, m)
        if self.copy_buffers:
            with torch.no_grad():
                for t, s in zip(tb, sb):
                    t.copy_(s)

    @staticmethod
    def _check_pairs(model, sp, tp) -> None:
        names = [n for n, _ in model.student.named_parameters()] if \
            hasattr(model, 'student') else [str(i) for i in range(len(sp))]
        for name, t, s in zip(names, tp, sp):
            if t.shape != s.shape:
                raise RuntimeError(
                    f'TeacherEMAHook: student and teacher parameter {name} '
                    f'are sharded differently ({tuple(s.shape)} vs '
                    f'{tuple(t.shape)} on this rank); wrap student and '
                    'teacher alike (FSDP auto_wrap_policy by module class, '
                    'e.g. skysense_pretrain_wrap_policy)')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """EMA after the optimizer step of this iteration."""
        wrapper = getattr(runner, 'optim_wrapper', None)
        should = getattr(wrapper, 'should_update', None)
        if callable(should) and not should():
            return
        max_iters = self.max_iters or runner.max_iters
        m = self.update(runner.model, runner.iter, max_iters)
        runner.message_hub.update_scalar('train/teacher_momentum', m)
