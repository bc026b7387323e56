"""The one place for workarounds of upstream bugs.

Each workaround is applied by :func:`apply_compat_patches` (called when
``skysense_mm`` is imported), is idempotent, and has a test in
``tests/test_utils/test_compat.py`` that first shows the upstream bug.

1. ``mmrotate`` 1.0.0rc1 does ``from collections import Sequence`` (removed
   in Python 3.10), so ``import mmrotate.models`` fails. We provide the alias
   ``collections.Sequence = collections.abc.Sequence``.
2. ``mmengine`` 0.10.7 calls ``torch.load`` without ``weights_only``; since
   torch 2.6 the default is ``weights_only=True`` and resuming a checkpoint
   written by mmengine's own ``Runner`` fails (``HistoryBuffer``, numpy arrays,
   numpy scalars and ``getattr(HistoryBuffer, 'min')`` in the message hub).
   We keep safe loading on and allow-list exactly those objects, with a
   ``getattr`` that only resolves HistoryBuffer's statistics methods.
3. ``mmengine`` 0.10.7 ``LocalBackend.put``/``put_text`` (used by
   ``save_checkpoint``) open the target with ``'wb'`` and write into it: a
   crash or a full disk mid-write truncates the previous checkpoint of the
   same name. We write to a temporary file in the same folder, fsync it and
   ``os.replace`` it over the target.
4. ``mmcv`` 2.0.1 ``nms_rotated(..., labels=...)`` ignores ``labels`` on CPU
   (the C++ CPU kernel drops ``multi_label``), so boxes of different classes
   suppress each other. On CPU with labels we shift each class's boxes apart
   (the batched-NMS offset trick) and run the label-free kernel.
5. ``mmengine`` 0.10.7 cannot train multi-process on CPU (gloo): the
   ``pytorch`` launcher calls ``torch.cuda.set_device`` unconditionally
   ("Found no NVIDIA driver") and ``Runner.wrap_model`` passes
   ``device_ids=[LOCAL_RANK]`` to DDP, which DDP refuses for CPU modules.
   Without CUDA we initialise the process group without touching the GPU
   and build DDP with ``device_ids=None``. CUDA machines are unaffected.
6. ``mmrotate`` 1.0.0rc1 ``eval_rbbox_map`` (used by ``DOTAMetric`` and so
   by every rotated-box benchmark) always starts ``Pool(nproc=4)`` of
   ``spawn`` processes, each re-importing torch and mmrotate: ~35 s per
   evaluation on a 2-core machine, with no way to turn it off from
   ``DOTAMetric``. The per-image TP/FP work is small, so we run it on a
   thread pool in-process; the results are the same.

Upstream problems handled elsewhere, by a class of ours chosen in the config
(no patching):

- ``mmengine`` 0.10.7 ``OptimWrapper`` clips gradients with each rank's own
  shards under FSDP (a partial norm per rank): the paper-size FSDP
  pre-training config uses ``ShardedGradClipOptimWrapper``
  (``skysense_mm/models/selfsup/fsdp.py``), which all-reduces the norm first.
- ``mmengine`` 0.10.7 ``Runner`` with ``model_wrapper_cfg`` FSDP wraps before
  ``init_weights``: that config uses ``FlexibleRunner`` + ``FSDPStrategy``
  (docs/pretrain.md).
- ``mmengine`` 0.10.7 ``FSDPStrategy.load_optim_state_dict`` calls torch's
  ``optim_state_dict_to_load`` with the torch < 2.1 argument order, so
  ``--resume`` under FSDP fails on torch >= 2.1: the FSDP config uses
  ``ResumableFSDPStrategy`` (same file), shown and tested in
  ``tests/test_tools/test_pretrain_fsdp_resume.py``.
"""
import collections
import collections.abc
import os
import os.path as osp
import pickle
import tempfile

_APPLIED = False


def patch_collections_sequence() -> None:
    """Give back ``collections.Sequence`` for mmrotate 1.0.0rc1."""
    for name in ('Sequence', 'Mapping', 'MutableMapping', 'Iterable'):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def _history_buffer_getattr(obj, name):
    """Stands in for ``builtins.getattr`` inside checkpoints.

    mmengine pickles ``HistoryBuffer._statistics_methods`` as
    ``getattr(HistoryBuffer, 'min')``; anything else is refused.
    """
    from mmengine.logging import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean'}
    allowed.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer statistics methods are allowed')


def mmengine_checkpoint_safe_globals() -> list:
    """Objects an mmengine ``Runner`` checkpoint needs beyond tensors."""
    import numpy as np
    from mmengine.logging import HistoryBuffer
    multiarray = getattr(np, '_core', None)
    multiarray = (multiarray.multiarray
                  if multiarray is not None else np.core.multiarray)
    dtype_classes = [
        getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType')
    ]
    return [
        HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct,
        multiarray.scalar, (_history_buffer_getattr, 'builtins.getattr')
    ] + dtype_classes


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints."""
    import torch
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(
            mmengine_checkpoint_safe_globals())


def atomic_write(data, filepath, mode: str = 'wb', encoding=None) -> None:
    """Write ``data`` to ``filepath`` so that readers see old or new, whole.

    Args:
        data (bytes | str): What to write.
        filepath (str | Path): Target file; its folder is created.
        mode (str): ``'wb'`` or ``'w'``.
        encoding (str, optional): Text encoding for ``mode='w'``.
    """
    filepath = os.fspath(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def make_local_backend_atomic() -> None:
    """Route mmengine's local ``put``/``put_text`` through atomic_write."""
    from mmengine.fileio.backends import LocalBackend

    def put(self, obj, filepath):
        atomic_write(obj, filepath, 'wb')

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(obj, filepath, 'w', encoding=encoding)

    put.__doc__ = 'Atomic replacement of LocalBackend.put (skysense_mm).'
    put_text.__doc__ = 'Atomic LocalBackend.put_text (skysense_mm).'
    LocalBackend.put = put
    LocalBackend.put_text = put_text


def _class_aware_nms_rotated(nms_rotated):
    """Wrap mmcv's ``nms_rotated`` so ``labels`` also work on CPU."""
    import functools

    @functools.wraps(nms_rotated)
    def wrapper(dets, scores, iou_threshold, labels=None, clockwise=True):
        if labels is None or dets.is_cuda or dets.numel() == 0:
            return nms_rotated(dets, scores, iou_threshold, labels, clockwise)
        span = dets[:, :2].max() - dets[:, :2].min() + dets[:, 2:4].max()
        shifted = dets.clone()
        shifted[:, :2] += labels.to(dets)[:, None] * (span + 1)
        _, keep = nms_rotated(shifted, scores, iou_threshold, None, clockwise)
        return (torch_cat_dets(dets, scores, keep), keep)

    wrapper.__skysense_patched__ = True
    return wrapper


def torch_cat_dets(dets, scores, keep):
    """``[x, y, w, h, a, score]`` rows of the kept boxes, as mmcv returns."""
    import torch
    return torch.cat((dets[keep], scores[keep].reshape(-1, 1)), dim=1)


def make_cpu_nms_rotated_class_aware() -> None:
    """Patch ``mmcv.ops.nms_rotated`` (both names) for CPU labels."""
    import sys

    import mmcv.ops
    nms_module = sys.modules['mmcv.ops.nms']  # mmcv.ops.nms is a function
    if getattr(nms_module.nms_rotated, '__skysense_patched__', False):
        return
    patched = _class_aware_nms_rotated(nms_module.nms_rotated)
    nms_module.nms_rotated = patched
    mmcv.ops.nms_rotated = patched


def allow_cpu_distributed() -> None:
    """Let mmengine's ``pytorch`` launcher and DDP wrapper run on CPU."""
    import mmengine.dist.utils as dist_utils
    import torch
    from mmengine.model import MMDistributedDataParallel

    if getattr(dist_utils._init_dist_pytorch, '__skysense_patched__', False):
        return
    original_init = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return original_init(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            raise RuntimeError(
                "env_cfg.dist_cfg.backend='nccl' needs GPUs; none is "
                "available here: use backend='gloo' for CPU training")
        torch.distributed.init_process_group(backend=backend, **kwargs)

    _init_dist_pytorch.__skysense_patched__ = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch

    original_ddp_init = MMDistributedDataParallel.__init__

    def ddp_init(self, module, detect_anomalous_params=False, **kwargs):
        if not torch.cuda.is_available():
            kwargs['device_ids'] = None
        original_ddp_init(
            self, module, detect_anomalous_params=detect_anomalous_params,
            **kwargs)

    MMDistributedDataParallel.__init__ = ddp_init


class _ThreadPoolContext:
    """Stands in for ``multiprocessing.get_context('spawn')`` where only
    ``.Pool(n)`` is used: a thread pool with the same ``starmap``/``close``
    interface."""

    @staticmethod
    def Pool(processes=None):  # noqa: N802 (multiprocessing's name)
        from multiprocessing.pool import ThreadPool
        return ThreadPool(processes)


def run_rotated_map_in_process() -> None:
    """Make mmrotate's ``eval_rbbox_map`` use threads, not spawn."""
    from mmrotate.evaluation.functional import mean_ap
    mean_ap.get_context = lambda method=None: _ThreadPoolContext


def apply_compat_patches() -> None:
    """Apply every workaround once."""
    global _APPLIED
    if _APPLIED:
        return
    patch_collections_sequence()
    allow_mmengine_checkpoints()
    make_local_backend_atomic()
    make_cpu_nms_rotated_class_aware()
    allow_cpu_distributed()
    run_rotated_map_in_process()
    _APPLIED = True
