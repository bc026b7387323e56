"""Build a SkySense model from a config and extract its features.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115).

Example:
    >>> from skysense_mm.apis import init_model, extract_features
    >>> model = init_model('configs/_base_/models/skysense_tiny.py')
    >>> feats = extract_features(model, dict(hr=hr, s2=s2, s2_doy=doy),
    ...                          granularity=('pixel', 'image'))
"""
import logging
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from torch import nn

__all__ = ['init_model', 'extract_features']

ConfigType = Union[str, Config, ConfigDict, dict]


def _model_config(config: ConfigType,
                  cfg_options: Optional[dict]) -> Tuple[ConfigDict, str]:
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        config = Config.fromfile(config)
    elif isinstance(config, dict) and not isinstance(config, Config):
        config = Config(dict(config))
    if not isinstance(config, Config):
        raise TypeError('config must be a file path, a Config or a dict, got '
                        f'{type(config)}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    scope = config.get('default_scope', 'skysense_mm')
    if 'model' in config:
        return config.model, scope
    if 'type' in config:
        return ConfigDict(config.to_dict()), scope
    raise ValueError('config has neither a `model` field nor a `type`')


def _read_state_dict(checkpoint: str) -> Dict[str, torch.Tensor]:
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, Mapping) and isinstance(ckpt.get(key), Mapping):
            ckpt = ckpt[key]
            break
    if not isinstance(ckpt, Mapping):
        raise ValueError(f'{checkpoint} holds no state dict')
    return {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in ckpt.items()
    }


def _quiet_init_weights(model: nn.Module) -> None:
    """``model.init_weights()`` without mmengine's per-parameter INFO log."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def init_model(config: ConfigType,
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a model from a config, optionally load weights, set eval mode.

    Args:
        config (str | Config | dict): Config file, Config, or dict with a
            ``model`` field (or a model config itself, with ``type``), e.g.
            ``configs/_base_/models/skysense_paper.py``.
        checkpoint (str, optional): A skysense_mm checkpoint (``state_dict``
            key, as written by mmengine or
            ``tools/model_converters/skysense_official2mm.py``). Keys and
            shapes must match the model except rebuilt buffers and
            ``geo_prototypes.prototypes`` (not in the official release);
            otherwise a ValueError names the keys that differ. Defaults to
            None: the model's own initialisation (``init_weights``).
        device (str | torch.device): Target device; ``'meta'`` builds
            without allocating memory (no checkpoint then). Defaults to
            'cpu'.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The model in eval mode, with ``model.cfg`` set.
    """
    import skysense_mm.models  # noqa: F401  (register the modules)
    from skysense_mm.models.utils.meta_build import build_model_on_meta
    from skysense_mm.models.utils.official_ckpt import \
        load_converted_state_dict
    from skysense_mm.registry import MODELS

    model_cfg, scope = _model_config(config, cfg_options)
    device = torch.device(device)
    with DefaultScope.overwrite_default_scope(scope):
        if device.type == 'meta':
            if checkpoint is not None:
                raise ValueError('init_model: a checkpoint cannot be loaded '
                                 "on device='meta'")
            model = build_model_on_meta(
                Config(dict(model=model_cfg, default_scope=scope)))
        else:
            model = MODELS.build(model_cfg)
            if checkpoint is None:
                _quiet_init_weights(model)
            else:
                load_converted_state_dict(model,
                                          _read_state_dict(checkpoint),
                                          strict=True)
            model.to(device)
    model.cfg = model_cfg
    return model.eval()


def _to_device(inputs, device):
    if isinstance(inputs, torch.Tensor):
        return inputs.to(device)
    if isinstance(inputs, Mapping):
        return {
            k: v.to(device) if isinstance(v, torch.Tensor) else v
            for k, v in inputs.items()
        }
    raise TypeError('inputs must be a Tensor or a dict of modalities, got '
                    f'{type(inputs)}')


def extract_features(model: nn.Module,
                     inputs,
                     granularity: Union[str,
                                        Sequence[str]] = ('pixel', 'object',
                                                          'image'),
                     object_masks: Optional[torch.Tensor] = None,
                     num_objects: int = 8) -> Dict[str, torch.Tensor]:
    """Pixel / object / image features of a SkySense model, without grad.

    Args:
        model (nn.Module): A :class:`~skysense_mm.models.SkySense`, or a
            model whose ``backbone`` is one (e.g. an mmseg EncoderDecoder).
        inputs (Tensor | dict): Model inputs (see ``SkySense``); moved to
            the model's device.
        granularity (str | Sequence[str]): Any of ``'pixel'``, ``'object'``,
            ``'image'``. Defaults to all three.
        object_masks (Tensor, optional): ``(B, K, H, W)`` object masks;
            None clusters the pixels into ``num_objects`` objects.
        num_objects (int): Clusters per image without masks. Defaults to 8.

    Returns:
        dict[str, Tensor]: ``pixel`` ``(B, C, h, w)``, ``object``
        ``(B, K, C)``, ``image`` ``(B, C)`` (those requested).
    """
    from skysense_mm.models.backbones.skysense import SkySense
    encoder = model if isinstance(model, SkySense) else getattr(
        model, 'backbone', None)
    if not isinstance(encoder, SkySense):
        raise TypeError('extract_features needs a SkySense model or a model '
                        f'with a SkySense backbone, got {type(model)}')
    param = next(encoder.parameters(), None)
    device = param.device if param is not None else torch.device('cpu')
    inputs = _to_device(inputs, device)
    if object_masks is not None:
        object_masks = object_masks.to(device)
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            return encoder.extract_features(inputs, granularity, object_masks,
                                            num_objects)
    finally:
        encoder.train(was_training)
