"""Build models on the ``meta`` device (shapes only, no memory).

Used by ``tools/analysis_tools/count_params.py`` and the ``--check`` of
``tools/model_converters/skysense_official2mm.py`` to handle SkySense
(https://arxiv.org/abs/2312.10115) at its full 2B-parameter size.
"""
import contextlib
from typing import Optional, Union

import torch
from mmengine.config import Config
from torch import nn

__all__ = ['build_model_on_meta', 'init_on_meta', 'meta_device']


@contextlib.contextmanager
def init_on_meta():
    """Put every parameter and buffer on ``meta`` as it is registered.

    Ordinary tensor code runs where it would (e.g. on the CPU, so library
    constructors that read values back work) while each parameter / buffer
    is moved to ``meta`` when it is registered, so weight initialisation
    then runs on ``meta``. Tensors are still created (not filled) before
    registration; :func:`meta_device` avoids even that.
    """
    orig_param = nn.Module.register_parameter
    orig_buffer = nn.Module.register_buffer

    def register_parameter(module, name, param):
        if param is not None and not param.is_meta:
            param = nn.Parameter(
                param.detach().to('meta'), requires_grad=param.requires_grad)
        orig_param(module, name, param)

    def register_buffer(module, name, tensor, persistent=True):
        if tensor is not None and not tensor.is_meta:
            tensor = tensor.to('meta')
        orig_buffer(module, name, tensor, persistent=persistent)

    nn.Module.register_parameter = register_parameter
    nn.Module.register_buffer = register_buffer
    try:
        yield
    finally:
        nn.Module.register_parameter = orig_param
        nn.Module.register_buffer = orig_buffer


@contextlib.contextmanager
def meta_device():
    """Build modules on ``meta``, even those that read values at build time.

    ``with torch.device('meta')`` plus two fixes: ``torch.linspace`` without
    an explicit device is made on the CPU (mmpretrain, mmseg and our ViT call
    ``torch.linspace(0, drop_path_rate, n).item()/.tolist()``, which fails on
    ``meta``), and :func:`init_on_meta` moves anything still registered off
    ``meta`` onto it. No full-size tensor is ever allocated.

    ``torch.device`` contexts recognise factory functions through a set that
    torch builds once per process (``torch.utils._device.
    _device_constructors``, cached); it is filled here before the patch, so
    that it holds the real ``torch.linspace`` and later ``with
    torch.device(...)`` blocks keep working for it.
    """
    from torch.utils import _device
    _device._device_constructors()  # fill the cache with the real functions
    orig_linspace = torch.linspace

    def linspace(*args, **kwargs):
        if kwargs.get('device') is None:
            kwargs['device'] = 'cpu'
        return orig_linspace(*args, **kwargs)

    torch.linspace = linspace
    try:
        with torch.device('meta'), init_on_meta():
            yield
    finally:
        torch.linspace = orig_linspace


def build_model_on_meta(config: Union[str, Config],
                        cfg_options: Optional[dict] = None) -> nn.Module:
    """Build ``config.model`` with all tensors on the ``meta`` device.

    Args:
        config (str | mmengine.Config): Config file or object with a
            ``model`` field.
        cfg_options (dict, optional): Overrides merged into the config
            (as ``--cfg-options`` of the tools).

    Returns:
        nn.Module: The model; ``p.is_meta`` for every parameter and buffer.

    Raises:
        TypeError: If ``config`` is neither a path nor a Config.
        ValueError: If the config has no ``model`` field.
    """
    from mmengine.registry import DefaultScope

    import skysense_mm.models  # noqa: F401  (registers the modules)
    from skysense_mm.registry import MODELS

    if isinstance(config, str):
        cfg = Config.fromfile(config)
    elif isinstance(config, Config):
        cfg = config.copy()
    else:
        raise TypeError('config must be a path or an mmengine Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError('config has no "model" field')
    scope = cfg.get('default_scope', None) or 'skysense_mm'
    with DefaultScope.overwrite_default_scope(scope), meta_device():
        model = MODELS.build(cfg.model)
    return model
