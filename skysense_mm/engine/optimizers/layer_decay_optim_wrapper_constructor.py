"""Layer-wise learning-rate decay for the SkySense encoders.

Fine-tuning SkySense (https://arxiv.org/abs/2312.10115) on dense benchmarks
follows the RingMo / RVSA recipe, which scales the learning rate of every
encoder layer by ``layer_decay_rate ** (num_layers + 1 - layer_id)``: the
stem gets the smallest learning rate, the last block almost the full one and
heads / necks the full one. MMPretrain's
:class:`LearningRateDecayOptimWrapperConstructor` implements the scaling and
the weight-decay rules but asks the model for ``get_layer_depth``; this
constructor supplies it for :class:`~skysense_mm.models.SkySenseSwinV2`
(mmpretrain key layout) and :class:`~skysense_mm.models.SkySenseViT` (mmseg
key layout) wherever they sit in the model (``backbone.*``,
``backbone.backbone_hr.*`` of :class:`SkySense`,
``backbone.encoder.backbone_s2.*`` of :class:`SiameseBackbone`, ...). The
encoders are found by type, not by key name.
"""
from typing import Callable, Dict, List, Optional, Tuple

from mmengine.logging import MMLogger
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor
from torch import nn

from skysense_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS

# parameters without weight decay besides norms, biases and 1-d tensors
NO_DECAY_KEYS = ('pos_embed', 'absolute_pos_embed', 'cls_token',
                 'mask_token', 'relative_position_bias_table', 'cpb_mlp',
                 'logit_scale')


def swin_v2_layer_depth(name: str, depths: List[int]) -> int:
    """Layer depth of a parameter of :class:`SkySenseSwinV2`.

    Depth 0 is the stem (``patch_embed``, ``absolute_pos_embed``), block
    ``j`` of stage ``i`` has depth ``sum(depths[:i]) + j + 1``, the patch
    merging that opens stage ``i`` (``stages.i.downsample``) shares the depth
    of the last block before it, and the output norms (``norm{i}``) get the
    top depth ``sum(depths) + 1``.

    Args:
        name (str): parameter name relative to the encoder.
        depths (list[int]): number of blocks per stage.

    Returns:
        int: the layer depth in ``[0, sum(depths) + 1]``.
    """
    parts = name.split('.')
    if parts[0] in ('patch_embed', 'absolute_pos_embed'):
        return 0
    if parts[0] == 'stages':
        stage = int(parts[1])
        if parts[2] == 'blocks':
            return sum(depths[:stage]) + int(parts[3]) + 1
        return sum(depths[:stage])  # downsample of this stage
    return sum(depths) + 1


def vit_layer_depth(name: str, num_layers: int) -> int:
    """Layer depth of a parameter of :class:`SkySenseViT`.

    Depth 0 is the stem (``patch_embed``, ``pos_embed``, ``cls_token``),
    ``layers.i`` has depth ``i + 1`` and the rest (final norm) the top depth
    ``num_layers + 1``, as mmseg's ``get_layer_id_for_vit``.

    Args:
        name (str): parameter name relative to the encoder.
        num_layers (int): number of transformer layers.

    Returns:
        int: the layer depth in ``[0, num_layers + 1]``.
    """
    parts = name.split('.')
    if parts[0] in ('patch_embed', 'pos_embed', 'cls_token', 'mask_token'):
        return 0
    if parts[0] == 'layers':
        return int(parts[1]) + 1
    return num_layers + 1


def _encoder_depth_fn(module: nn.Module) -> Optional[Tuple[int, Callable]]:
    """(number of blocks, name -> depth) for a supported encoder, else None."""
    from skysense_mm.models.backbones.swin_v2 import SkySenseSwinV2
    from skysense_mm.models.backbones.vit import SkySenseViT
    if isinstance(module, SkySenseSwinV2):
        depths = [len(stage.blocks) for stage in module.stages]
        return sum(depths), lambda n: swin_v2_layer_depth(n, depths)
    if isinstance(module, SkySenseViT):
        num = len(module.layers)
        return num, lambda n: vit_layer_depth(n, num)
    return None


def build_layer_depth_fn(model: nn.Module,
                         num_layers: Optional[int] = None) -> Callable:
    """A ``get_layer_depth(param_name) -> (depth, num_depths)`` for a model.

    Every :class:`SkySenseSwinV2` / :class:`SkySenseViT` inside ``model`` gets
    its own depth table; all other parameters (heads, necks, fusion modules)
    get the top depth, i.e. an lr scale of 1.

    Args:
        model (nn.Module): the model handed to the constructor.
        num_layers (int, optional): expected number of blocks of each
            encoder; None reads it from the encoder. A mismatch raises.

    Returns:
        Callable: function of the full parameter name.

    Raises:
        ValueError: the model holds no supported encoder, or ``num_layers``
            differs from an encoder's block count.
    """
    table: Dict[str, Tuple[int, int]] = {}
    for prefix, mod in model.named_modules():
        found = _encoder_depth_fn(mod)
        if found is None:
            continue
        blocks, depth_fn = found
        if num_layers is not None and num_layers != blocks:
            raise ValueError(
                f'paramwise_cfg.num_layers={num_layers} but encoder '
                f'"{prefix or "<model>"}" ({type(mod).__name__}) has '
                f'{blocks} blocks; set num_layers=None to read it')
        for name, _ in mod.named_parameters():
            full = f'{prefix}.{name}' if prefix else name
            table[full] = (depth_fn(name), blocks + 2)
    if not table:
        raise ValueError(
            'LayerDecayOptimWrapperConstructor: no SkySenseSwinV2 or '
            f'SkySenseViT found in {type(model).__name__}')
    top = max(n for _, n in table.values())

    def get_layer_depth(param_name: str) -> Tuple[int, int]:
        if param_name in table:
            return table[param_name]
        return top - 1, top

    return get_layer_depth


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """Layer-wise lr decay for SkySense Swin-V2 / ViT encoders.

    The lr of a parameter at depth ``d`` of an encoder with ``N`` blocks is
    ``lr * layer_decay_rate ** (N + 1 - d)`` (MMPretrain's
    :class:`LearningRateDecayOptimWrapperConstructor` formula); see
    :func:`swin_v2_layer_depth` and :func:`vit_layer_depth` for ``d``.
    Heads and necks get the full lr. Weight decay is 0 for norm layers,
    biases, all 1-d parameters (e.g. Swin-V2 ``q_bias``/``v_bias``) and the
    parameters whose name contains one of :data:`NO_DECAY_KEYS` (position
    embeddings, class token, relative position bias tables, Swin-V2's
    continuous position bias MLP and logit scale); ``custom_keys`` entries
    given in the config are added on top (their ``decay_mult`` wins).

    Paper: https://arxiv.org/abs/2312.10115

    Args:
        optim_wrapper_cfg (dict): the ``optim_wrapper`` config.
        paramwise_cfg (dict, optional): ``layer_decay_rate`` (float, default
            0.9), ``num_layers`` (int | None, default None = read from each
            encoder, else checked against it), and MMPretrain's
            ``custom_keys`` / ``norm_decay_mult`` / ``bias_decay_mult`` /
            ``flat_decay_mult`` (defaults 0 for the three mults).
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        paramwise_cfg.setdefault('layer_decay_rate', 0.9)
        self.num_layers = paramwise_cfg.pop('num_layers', None)
        for key in ('norm_decay_mult', 'bias_decay_mult', 'flat_decay_mult'):
            paramwise_cfg.setdefault(key, 0.)
        custom_keys = {k: dict(decay_mult=0.) for k in NO_DECAY_KEYS}
        custom_keys.update(paramwise_cfg.get('custom_keys', {}))
        paramwise_cfg['custom_keys'] = custom_keys
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        """Add the parameters of ``module`` with their lr scale.

        Args:
            params (list[dict]): parameter groups, extended in place.
            module (nn.Module): the (sub)module.
            prefix (str): name prefix of ``module``.
            get_layer_depth (Callable, optional): built from the whole model
                on the top-level call.
        """
        if get_layer_depth is None:
            get_layer_depth = build_layer_depth_fn(module, self.num_layers)
            MMLogger.get_current_instance().info(
                'layer-wise lr decay: rate '
                f'{self.paramwise_cfg["layer_decay_rate"]}')
        super().add_params(
            params, module, prefix=prefix, get_layer_depth=get_layer_depth,
            **kwargs)
