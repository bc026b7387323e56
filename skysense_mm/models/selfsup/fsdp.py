"""FSDP support of SkySense pre-training: auto-wrap policy, gradient clipping,
resumable strategy.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.3 and §4.1 (2.06B
parameters, 80 GPUs). Used by ``configs/pretrain/skysense_paper_pretrain_
fsdp.py`` through mmengine's ``FSDPStrategy`` / ``MMFullyShardedDataParallel``
(``auto_wrap_policy=dict(type='skysense_pretrain_wrap_policy')``).

Every transformer layer (mmpretrain ``SwinBlockV2`` of the HR encoder, mmseg
``TransformerEncoderLayer`` of the S2 / S1 ViTs and of the fusion encoder)
and every ``DINOProjectionHead`` becomes its own FSDP unit; the rest (patch
embeddings, patch merging, norms, token lifts, the cross-modal projections;
the geo-context prototypes and L_CL centres are buffers, which FSDP never
shards) stays in the root unit. Why these and no others:

- a unit must only be entered through its ``forward`` (FSDP gathers its
  parameters in the forward hook): the pre-training calls
  ``SkySense.forward_features`` and ``backbone_hr`` directly, so the
  encoders themselves must not be units, while layers and heads are always
  called as modules;
- the policy depends on the module class only, so the teacher (a deep copy
  of the student) is cut into exactly the same units with the same flat
  parameter layout: each rank holds the same slice of a student layer and
  of the matching teacher layer, and :class:`TeacherEMAHook` updates those
  slices locally. The root unit mixes student and teacher parameters at
  different offsets; the hook gathers it (``summon_full_params(recurse=
  False)``, the small non-layer parameters only) for the update.

:class:`ShardedGradClipOptimWrapper`: mmengine's ``OptimWrapper`` clips with
``torch.nn.utils.clip_grad_norm_`` over the parameters it holds, which under
FSDP are this rank's shards, so every rank clips with its own partial norm
(and logs it as ``grad_norm``). This wrapper all-reduces the norm over the
ranks first (each element of a FULL_SHARD / SHARD_GRAD_OP model lives on
exactly one rank), so clipping and the logged norm equal those of the
unsharded model.
"""
import functools
from typing import Sequence, Tuple

import torch
from mmengine._strategy import FSDPStrategy
from mmengine.optim import OptimWrapper
from mmengine.registry import STRATEGIES
from torch import nn

from skysense_mm.registry import OPTIM_WRAPPERS

__all__ = [
    'skysense_pretrain_wrap_policy', 'wrapped_classes', 'sharded_grad_norm',
    'ShardedGradClipOptimWrapper', 'ResumableFSDPStrategy'
]

#: default unit classes, as import paths
DEFAULT_CLASSES = (
    'mmpretrain.models.backbones.swin_transformer_v2.SwinBlockV2',
    'mmseg.models.backbones.vit.TransformerEncoderLayer',
    'skysense_mm.models.selfsup.losses.DINOProjectionHead',
)


def wrapped_classes(names: Sequence[str] = DEFAULT_CLASSES) -> Tuple[type]:
    """Import the classes named by dotted paths.

    Args:
        names (Sequence[str]): ``package.module.Class`` paths.

    Returns:
        tuple[type]: The classes.
    """
    import importlib
    out = []
    for name in names:
        mod_name, _, cls_name = str(name).rpartition('.')
        try:
            cls = getattr(importlib.import_module(mod_name), cls_name)
        except (ImportError, AttributeError) as err:
            raise ValueError('skysense_pretrain_wrap_policy: cannot import '
                             f'module class {name!r}: {err}') from err
        if not isinstance(cls, type) or not issubclass(cls, nn.Module):
            raise ValueError(f'skysense_pretrain_wrap_policy: {name!r} is '
                             'not an nn.Module class')
        out.append(cls)
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _cached_classes(names: Tuple[str, ...]) -> Tuple[type]:
    return wrapped_classes(names)


def skysense_pretrain_wrap_policy(
        module: nn.Module,
        recurse: bool,
        nonwrapped_numel: int,
        module_classes: Sequence[str] = DEFAULT_CLASSES) -> bool:
    """FSDP auto-wrap policy: a unit per layer / projection head.

    Same contract as ``torch.distributed.fsdp.wrap.
    transformer_auto_wrap_policy``: always recurse, wrap the instances of
    ``module_classes`` (subclasses included).

    Args:
        module (nn.Module): Candidate module.
        recurse (bool): Whether FSDP asks to descend into ``module``.
        nonwrapped_numel (int): Parameters not yet wrapped (unused).
        module_classes (Sequence[str]): Dotted paths of the unit classes.
            Defaults to :data:`DEFAULT_CLASSES`.

    Returns:
        bool: True to recurse / to wrap ``module``.
    """
    if recurse:
        return True
    return isinstance(module, _cached_classes(tuple(module_classes)))


def sharded_grad_norm(params: Sequence[torch.Tensor],
                      norm_type: float = 2.0) -> torch.Tensor:
    """Norm of the gradients of parameters sharded over the ranks.

    Each rank passes its own shards (every element on exactly one rank);
    the result is the norm of the whole gradient, the same on every rank.
    A collective: every rank must call it, also with no local gradient.

    Args:
        params (Sequence[Tensor]): This rank's parameters (with ``grad``).
        norm_type (float): ``p`` of the norm, or ``inf``. Defaults to 2.

    Returns:
        Tensor: Scalar float32 norm.
    """
    grads = [p.grad.detach() for p in params if p.grad is not None]
    if grads:
        device = grads[0].device
    elif torch.cuda.is_available():
        device = torch.device('cuda', torch.cuda.current_device())
    else:
        device = torch.device('cpu')
    inf = norm_type == float('inf')
    if not grads:
        local = torch.zeros((), device=device)
    elif inf:
        local = torch.stack([g.abs().max().float() for g in grads
                             if g.numel()] or [torch.zeros((),
                                                           device=device)]
                            ).max()
    else:
        local = torch.stack([
            torch.linalg.vector_norm(g.float(), norm_type) for g in grads
        ]).pow(norm_type).sum()
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(local, op=dist.ReduceOp.MAX if inf else
                        dist.ReduceOp.SUM)
    return local if inf else local.pow(1.0 / norm_type)


@OPTIM_WRAPPERS.register_module()
class ShardedGradClipOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``clip_grad=dict(max_norm=...)`` clips with
    the norm over all ranks (:func:`sharded_grad_norm`), for FSDP.

    Same arguments as mmengine's ``OptimWrapper``; ``type='value'``
    clipping is element-wise and unchanged. Do not use it with replicated
    (DDP, NO_SHARD, HYBRID_SHARD) parameters: their norm would be counted
    once per replica.
    """

    def _clip_grad(self) -> None:
        if self.grad_name != 'grad_norm':
            return super()._clip_grad()
        params = [
            p for group in self.optimizer.param_groups
            for p in group['params'] if p.requires_grad and p.grad is not None
        ]
        kwargs = dict(self.clip_grad_kwargs)
        max_norm = float(kwargs.pop('max_norm'))
        norm_type = float(kwargs.pop('norm_type', 2.0))
        kwargs.pop('error_if_nonfinite', None)
        kwargs.pop('foreach', None)
        if kwargs:
            raise ValueError('ShardedGradClipOptimWrapper: unsupported '
                             f'clip_grad arguments {sorted(kwargs)}')
        total = sharded_grad_norm(params, norm_type)
        # as torch.nn.utils.clip_grad_norm_
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        grads = [p.grad for p in params]
        if grads:
            torch._foreach_mul_(grads, coef.to(grads[0].device))
        self.message_hub.update_scalar('train/grad_norm', float(total))


@STRATEGIES.register_module()
class ResumableFSDPStrategy(FSDPStrategy):
    """mmengine's ``FSDPStrategy`` whose resume loads the optimizer state.

    mmengine 0.10.7 ``FSDPStrategy.load_optim_state_dict`` calls
    ``FSDP.optim_state_dict_to_load(state_dict, model, optim)``, the
    argument order of torch < 2.1; torch >= 2.1 takes ``(model, optim,
    optim_state_dict)``, so every ``--resume`` under FSDP fails with
    ``TypeError: unhashable type: 'dict'``. This strategy passes the
    arguments by name (valid for both orders). Same arguments as
    ``FSDPStrategy``; used by the paper-size FSDP pre-training config of
    SkySense (https://arxiv.org/abs/2312.10115).
    """

    def load_optim_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state saved by :meth:`optim_state_dict`.

        Args:
            state_dict (dict): The optimizer state dict of the checkpoint
                (as saved under this strategy's ``state_dict_cfg``).
        """
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        optim_state_dict = FSDP.optim_state_dict_to_load(
            model=self.model,
            optim=self.optim_wrapper.optimizer,
            optim_state_dict=state_dict)
        self.optim_wrapper.load_state_dict(optim_state_dict)


def _register():
    from mmengine.registry import FUNCTIONS
    if 'skysense_pretrain_wrap_policy' not in FUNCTIONS.module_dict:
        FUNCTIONS.register_module(
            name='skysense_pretrain_wrap_policy',
            module=skysense_pretrain_wrap_policy)


_register()
