"""Swin Transformer V2 encoder of the high-resolution optical branch (g_HR).

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115) encodes static
high-resolution optical images with a Swin-V2-Huge. The released weights
(``backbone_gep.*``) were trained with mmcls/mmpretrain's
``SwinTransformerV2``; :class:`SkySenseSwinV2` is that module with

- the same parameters, buffers and state-dict keys, so the official weights
  and any mmpretrain checkpoint load unchanged;
- the window attention run by ``F.scaled_dot_product_attention``
  (cosine-attention logit scale folded into the query, continuous position
  bias and shift mask folded into one additive ``attn_mask``), cached
  shift masks and non-reentrant activation checkpointing (``with_cp``);
- an RGB (3 bands) or RGB+NIR (4 bands) stem, checked on every call.

:func:`build_reference_swin_v2` builds the mmpretrain module with the same
configuration and weights (used by the parity tests and by
``tools/analysis_tools/benchmark_backbone.py``).
"""
import functools
import math
from typing import Dict, Mapping, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmpretrain.models.backbones.swin_transformer_v2 import SwinTransformerV2
from mmpretrain.models.utils import ShiftWindowMSA, WindowMSAV2
from mmpretrain.models.utils import resize_pos_embed
from torch import nn
from torch.utils.checkpoint import checkpoint

from skysense_mm.registry import MODELS

__all__ = [
    'SkySenseSwinV2', 'SDPAWindowMSAV2', 'build_reference_swin_v2',
    'window_sdpa'
]

#: Official arch of the SkySense HR encoder (REFERENCE.md).
_HUGE = dict(
    embed_dims=352,
    depths=[2, 2, 18, 2],
    num_heads=[8, 16, 32, 64],
    extra_norm_every_n_blocks=6)
_ARCH_KEYS = ('embed_dims', 'depths', 'num_heads')
#: Cap of the cosine-attention logit scale, as in Swin-V2 (log(1 / 0.01)).
_MAX_LOGIT_SCALE = math.log(100.)


class SDPAWindowMSAV2(WindowMSAV2):
    """Swin-V2 window attention computed by ``F.scaled_dot_product_attention``.

    Parameters, buffers and keys are those of mmpretrain's ``WindowMSAV2``
    (``qkv``, ``q_bias``, ``v_bias``, ``logit_scale``, ``cpb_mlp``, ``proj``,
    ``relative_coords_table``, ``relative_position_index``); only
    :meth:`forward` differs. Cosine attention
    ``softmax(s * cos(q, k) + 16 * sigmoid(cpb) + mask) v`` is computed as
    SDPA of ``(s * q / |q|, k / |k|, v)`` with ``scale=1`` and the position
    bias plus the shift mask as ``attn_mask``. With a shift mask, windows are
    folded into the head axis (``(B, nW * nH, N, d)``) so the mask broadcasts
    over the batch without being copied per image.

    Instances are made by converting a built ``WindowMSAV2`` in place (see
    :meth:`convert`); the constructor arguments are those of
    ``WindowMSAV2``. See https://arxiv.org/abs/2312.10115 for SkySense.

    Args:
        *args: Positional arguments of ``WindowMSAV2``.
        **kwargs: Keyword arguments of ``WindowMSAV2``.
    """

    @classmethod
    def convert(cls, module: nn.Module) -> nn.Module:
        """Switch every ``WindowMSAV2`` / ``ShiftWindowMSA`` in ``module``.

        Parameters and buffers stay the same objects (only the classes
        change), so keys, values and devices are untouched.

        Args:
            module (nn.Module): Module containing mmpretrain window attention.

        Returns:
            nn.Module: ``module`` itself.
        """
        for m in module.modules():
            if type(m) is WindowMSAV2:
                m.__class__ = cls
            elif type(m) is ShiftWindowMSA:
                m.__class__ = _CachedMaskShiftWindowMSA
        return module

    def relative_position_bias(self) -> torch.Tensor:
        """Continuous position bias ``16 * sigmoid(cpb_mlp(table))``.

        Returns:
            Tensor: Shape ``(num_heads, Wh * Ww, Wh * Ww)``.
        """
        n = self.window_size[0] * self.window_size[1]
        table = self.cpb_mlp(self.relative_coords_table).view(
            -1, self.num_heads)
        bias = table[self.relative_position_index.view(-1)].view(n, n, -1)
        return 16 * torch.sigmoid(bias.permute(2, 0, 1))

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attend within windows.

        Args:
            x (Tensor): Windows, shape ``(num_windows * B, N, C)``.
            mask (Tensor, optional): Shift mask ``(num_windows, N, N)`` with
                values 0 / -100, as built by ``ShiftWindowMSA``.

        Returns:
            Tensor: Shape ``(num_windows * B, N, C)``.
        """
        b_, n, c = x.shape
        heads = self.num_heads
        qkv_bias = None
        if self.q_bias is not None:
            qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias),
                                  self.v_bias))
        qkv = F.linear(x, self.qkv.weight, qkv_bias)
        q, k, v = qkv.view(b_, n, 3, heads, c // heads).permute(2, 0, 3, 1,
                                                                 4).unbind(0)
        scale = torch.clamp(self.logit_scale, max=_MAX_LOGIT_SCALE).exp()
        q = F.normalize(q, dim=-1) * scale
        k = F.normalize(k, dim=-1)
        bias = self.relative_position_bias()
        if mask is not None:
            windows = mask.shape[0]
            bias = bias.unsqueeze(0) + mask.unsqueeze(1)
            bias = bias.reshape(1, windows * heads, n, n)
            q, k, v = (t.reshape(b_ // windows, windows * heads, n, -1)
                       for t in (q, k, v))
        else:
            bias = bias.unsqueeze(0)
        dtype = v.dtype
        x = window_sdpa(
            q.to(dtype),
            k.to(dtype),
            v,
            bias.to(dtype),
            dropout_p=self.attn_drop.p if self.training else 0.)
        x = x.reshape(b_, heads, n, -1).transpose(1, 2).reshape(b_, n, c)
        return self.proj_drop(self.proj(x))


def window_sdpa(q: torch.Tensor,
                k: torch.Tensor,
                v: torch.Tensor,
                bias: torch.Tensor,
                dropout_p: float = 0.,
                pad_head_dim: Optional[bool] = None) -> torch.Tensor:
    """``softmax(q k^T + bias) v`` by ``F.scaled_dot_product_attention``.

    The memory-efficient CUDA kernel (the one that takes an additive mask)
    needs a head dim that is a multiple of 16 bytes; Swin-V2-H has 44, so in
    fp16/bf16 on CUDA q, k and v are zero-padded to the next multiple (the
    scores are unchanged, the padded output columns are dropped).

    Args:
        q (Tensor): Queries ``(B, H, N, d)``, already scaled.
        k (Tensor): Keys ``(B, H, N, d)``.
        v (Tensor): Values ``(B, H, N, d)``.
        bias (Tensor): Additive mask broadcastable to ``(B, H, N, N)``.
        dropout_p (float): Attention dropout. Defaults to 0.
        pad_head_dim (bool, optional): Force (True) or forbid (False) the
            padding; None pads only where the CUDA kernel needs it.

    Returns:
        Tensor: ``(B, H, N, d)``.
    """
    d = q.shape[-1]
    align = max(16 // q.element_size(), 1)
    if pad_head_dim is None:
        pad_head_dim = q.is_cuda and q.element_size() < 4 and d % align != 0
    if pad_head_dim and d % align:
        pad = align - d % align
        q, k, v = (F.pad(t, (0, pad)) for t in (q, k, v))
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=bias, dropout_p=dropout_p, scale=1.)
    return out[..., :d] if out.shape[-1] != d else out


@functools.lru_cache(maxsize=64)
def _shift_window_mask(hw_shape, window_size, shift_size, device, inference):
    del inference  # part of the key only: inference tensors stay apart
    return ShiftWindowMSA.get_attn_mask(
        hw_shape, window_size=window_size, shift_size=shift_size,
        device=device)


class _CachedMaskShiftWindowMSA(ShiftWindowMSA):
    """``ShiftWindowMSA`` that reuses its shift masks (same keys)."""

    def get_attn_mask(self, hw_shape, window_size, shift_size, device=None):
        if shift_size <= 0:
            return None
        device = None if device is None else torch.device(device)
        return _shift_window_mask(
            tuple(hw_shape), window_size, shift_size, device,
            torch.is_inference_mode_enabled())


@MODELS.register_module()
class SkySenseSwinV2(SwinTransformerV2):
    """Swin Transformer V2 encoder of the SkySense HR optical branch.

    SkySense: https://arxiv.org/abs/2312.10115 (g_HR, Swin-V2-H). Built on
    mmpretrain's ``SwinTransformerV2``: the state dict has exactly its keys
    (= the official ``backbone_gep.*`` keys without the prefix), and
    :func:`build_reference_swin_v2` makes the library module with the same
    weights. Differences from the library module (outputs match to fp32
    rounding): SDPA window attention (:class:`SDPAWindowMSAV2`), cached shift
    masks, non-reentrant activation checkpointing, clear errors on bad
    input, and these loading rules:

    - ``relative_coords_table`` / ``relative_position_index`` are buffers
      rebuilt from ``window_size`` on construction. A state dict may hold
      them or not: a load pre-hook puts the rebuilt ones in, so
      ``load_state_dict(sd, strict=True)`` works either way and the stored
      values are never used (mmpretrain's own pre-hook deletes them, which
      makes its ``strict=True`` loading fail).
    - The official ``backbone_gep.mask_token`` (1x1x352, a masked-image-
      modelling token the encoder never uses) is **not** a key of this
      module: it is an expected extra that the official converter drops
      (:attr:`official_extra_keys`); loading it with ``strict=False``
      reports it as the only unexpected key.

    Bands: ``in_channels=3`` for R, G, B (the official weights) or ``4`` for
    R, G, B, NIR; :meth:`rgb_to_rgbnir_state_dict` turns an RGB checkpoint
    into an RGB+NIR one by copying the R kernel of the patch embedding for
    NIR (as the official RGBNIR variant does).

    Args:
        arch (str | dict): ``'tiny'``, ``'small'``, ``'base'``, ``'large'``,
            ``'huge'`` (the official SkySense encoder: embed 352, depths
            (2, 2, 18, 2), heads (8, 16, 32, 64), an extra norm every 6
            blocks), mmpretrain's ``'giant'``, their initials, or a dict
            with ``embed_dims``, ``depths``, ``num_heads`` and optionally
            ``extra_norm_every_n_blocks`` (default 0). Defaults to 'huge'.
        img_size (int | tuple): Nominal input size (only used with
            ``use_abs_pos_embed``). Defaults to 256.
        patch_size (int): Patch size of the stem. Defaults to 4.
        in_channels (int): 3 (RGB) or 4 (RGB+NIR). Defaults to 3.
        window_size (int | Sequence[int]): Window size per stage.
            Defaults to 8 (official).
        drop_rate (float): Dropout after the patch embedding. Defaults to 0.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.2
            (official).
        out_indices (Sequence[int]): Stages whose normed outputs are
            returned, with strides 4, 8, 16, 32 and norms ``norm0..norm3``.
            Defaults to (0, 1, 2, 3).
        use_abs_pos_embed (bool): Absolute position embedding.
            Defaults to False (official).
        interpolate_mode (str): Resize mode of the absolute position
            embedding. Defaults to 'bicubic'.
        with_cp (bool): Activation checkpointing of every block
            (non-reentrant ``torch.utils.checkpoint``); can be toggled on the
            instance later. Defaults to False.
        frozen_stages (int): Stages to freeze, -1 for none. Defaults to -1.
        norm_eval (bool): Keep batch norms in eval mode. Defaults to False.
        pad_small_map (bool): Pad feature maps smaller than the window (and
            shift windows when the map equals the window), as mmpretrain does
            for dense tasks; when False such inputs raise a ValueError.
            Identical results either way while every stage is larger than
            its window (e.g. 512 px with window 8). Official pre-training
            used False. Defaults to True.
        norm_cfg (dict): Norm of the outputs. Defaults to ``dict(type='LN')``.
        stage_cfgs (Sequence[dict] | dict): Extra per-stage config.
            Defaults to ``dict()``.
        patch_cfg (dict): Extra patch-embedding config. Defaults to
            ``dict()``.
        pretrained_window_sizes (Sequence[int]): Window sizes the weights
            were trained with (0 = same as ``window_size``). Defaults to
            (0, 0, 0, 0) (official).
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Inputs of any size are padded (bottom/right) to a multiple of the patch
    size and of the window size, as in mmpretrain; outputs then have
    ``ceil(H / stride)`` rows.

    Examples:
        >>> model = SkySenseSwinV2(
        ...     arch=dict(embed_dims=32, depths=(2, 2, 2, 2),
        ...               num_heads=(1, 2, 4, 8)), window_size=4)
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        [(1, 32, 16, 16), (1, 64, 8, 8), (1, 128, 4, 4), (1, 256, 2, 2)]
    """

    arch_zoo = {
        **SwinTransformerV2.arch_zoo,
        **dict.fromkeys(['h', 'huge'], _HUGE),
    }
    #: Official ``backbone_gep.*`` keys (prefix removed) this module does
    #: not have; the official converter drops them.
    official_extra_keys = ('mask_token', )
    #: Buffers rebuilt from the architecture; never read from a checkpoint.
    rebuilt_buffer_names = ('relative_coords_table', 'relative_position_index')
    #: Band names per ``in_channels``.
    bands = {3: ('R', 'G', 'B'), 4: ('R', 'G', 'B', 'NIR')}

    def __init__(self,
                 arch: Union[str, dict] = 'huge',
                 img_size: Union[int, Sequence[int]] = 256,
                 patch_size: int = 4,
                 in_channels: int = 3,
                 window_size: Union[int, Sequence[int]] = 8,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.2,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 use_abs_pos_embed: bool = False,
                 interpolate_mode: str = 'bicubic',
                 with_cp: bool = False,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 pad_small_map: bool = True,
                 norm_cfg: Optional[dict] = dict(type='LN'),
                 stage_cfgs: Union[Sequence[dict], dict] = dict(),
                 patch_cfg: dict = dict(),
                 pretrained_window_sizes: Sequence[int] = (0, 0, 0, 0),
                 init_cfg: Optional[Union[dict, list]] = None):
        arch = self._check_arch(arch)
        if isinstance(in_channels, bool) or in_channels not in self.bands:
            raise ValueError(
                'in_channels must be 3 (R, G, B) or 4 (R, G, B, NIR), got '
                f'{in_channels!r}')
        num_stages = len(arch['depths'])
        out_indices = tuple(out_indices)
        bad = [i for i in out_indices if not 0 <= i < num_stages]
        if bad:
            raise ValueError(f'out_indices must be in [0, {num_stages}), got '
                             f'{out_indices}')
        if len(pretrained_window_sizes) != num_stages:
            raise ValueError(
                f'pretrained_window_sizes needs {num_stages} entries (one per '
                f'stage), got {list(pretrained_window_sizes)}')
        if not isinstance(window_size, int) and len(window_size) != num_stages:
            raise ValueError(f'window_size needs {num_stages} entries (one '
                             f'per stage), got {list(window_size)}')
        reference_kwargs = dict(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            in_channels=in_channels,
            window_size=window_size,
            drop_rate=drop_rate,
            drop_path_rate=drop_path_rate,
            out_indices=out_indices,
            use_abs_pos_embed=use_abs_pos_embed,
            interpolate_mode=interpolate_mode,
            frozen_stages=frozen_stages,
            norm_eval=norm_eval,
            pad_small_map=pad_small_map,
            norm_cfg=norm_cfg,
            stage_cfgs=stage_cfgs,
            patch_cfg=patch_cfg,
            pretrained_window_sizes=list(pretrained_window_sizes))
        # Blocks are built without with_cp (mmpretrain's reentrant path);
        # forward() checkpoints them when self.with_cp is set.
        super().__init__(**reference_kwargs, init_cfg=init_cfg)
        #: Arguments that rebuild this model as mmpretrain's module.
        self.reference_kwargs: Dict = reference_kwargs
        self.in_channels = in_channels
        self.pad_small_map = pad_small_map
        self.with_cp = with_cp
        SDPAWindowMSAV2.convert(self)

    @classmethod
    def _check_arch(cls, arch) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'arch must be one of {sorted(cls.arch_zoo)}'
                                 f' or a dict, got {arch!r}')
            return dict(cls.arch_zoo[key])
        if not isinstance(arch, Mapping):
            raise TypeError(
                f'arch must be a str or a dict, got {type(arch).__name__}')
        missing = [k for k in _ARCH_KEYS if k not in arch]
        extra = set(arch) - set(_ARCH_KEYS) - {'extra_norm_every_n_blocks'}
        if missing or extra:
            raise ValueError(
                f'arch dict needs keys {list(_ARCH_KEYS)} (and optionally '
                f'extra_norm_every_n_blocks); missing {missing}, unknown '
                f'{sorted(extra)}')
        if len(arch['depths']) != len(arch['num_heads']):
            raise ValueError('arch: depths and num_heads must have the same '
                             f'length, got {list(arch["depths"])} and '
                             f'{list(arch["num_heads"])}')
        dims = arch['embed_dims']
        for i, heads in enumerate(arch['num_heads']):
            if (dims * 2**i) % heads:
                raise ValueError(
                    f'arch: stage {i} width {dims * 2**i} is not divisible by'
                    f' num_heads {heads}')
        return dict(
            embed_dims=dims,
            depths=list(arch['depths']),
            num_heads=list(arch['num_heads']),
            extra_norm_every_n_blocks=arch.get('extra_norm_every_n_blocks',
                                               0))

    def forward(self, x: torch.Tensor):
        """Encode images.

        Args:
            x (Tensor): Images ``(B, in_channels, H, W)``, bands in the order
                of :attr:`bands` (R, G, B[, NIR]).

        Returns:
            tuple[Tensor]: One map per ``out_indices`` entry, stage ``i``
            with ``embed_dims * 2**i`` channels at stride ``4 * 2**i``.

        Raises:
            TypeError: If ``x`` is not a tensor.
            ValueError: If ``x`` is not 4-D, has another band count than
                ``in_channels``, or (``pad_small_map=False``) a stage map is
                smaller than its window.
        """
        self._check_input(x)
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + resize_pos_embed(self.absolute_pos_embed,
                                     self.patch_resolution, hw_shape,
                                     self.interpolate_mode,
                                     self.num_extra_tokens)
        x = self.drop_after_pos(x)

        outs = []
        for i, stage in enumerate(self.stages):
            if stage.downsample is not None:
                x, hw_shape = stage.downsample(x, hw_shape)
            if not self.pad_small_map and min(hw_shape) < self.window_sizes[i]:
                raise ValueError(
                    f'input: stage {i} feature map {tuple(hw_shape)} is '
                    f'smaller than window_size {self.window_sizes[i]}; use a '
                    'larger input, a smaller window_size or '
                    'pad_small_map=True')
            for block in stage.blocks:
                if self.with_cp and torch.is_grad_enabled():
                    x = checkpoint(block, x, hw_shape, use_reentrant=False)
                else:
                    x = block(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(x)
                out = out.view(-1, *hw_shape, stage.out_channels)
                outs.append(out.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    def train(self, mode: bool = True) -> 'SkySenseSwinV2':
        """Set train/eval mode (and freeze stages); returns ``self``.

        Args:
            mode (bool): Training mode. Defaults to True.

        Returns:
            SkySenseSwinV2: ``self`` (mmpretrain's returns None, which
            breaks ``model.eval()`` chaining).
        """
        super().train(mode)
        return self

    def _check_input(self, x) -> None:
        if not torch.is_tensor(x):
            raise TypeError(
                f'input must be a Tensor (B, C, H, W), got {type(x).__name__}')
        if x.dim() != 4:
            raise ValueError('input must be 4-D (B, C, H, W), got shape '
                             f'{tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'input has {x.shape[1]} bands but the model was built with '
                f'in_channels={self.in_channels} '
                f'({", ".join(self.bands[self.in_channels])}); shape '
                f'{tuple(x.shape)}')

    def _delete_reinit_params(self, state_dict, prefix, *args, **kwargs):
        """Load pre-hook: use the rebuilt position buffers.

        Replaces mmpretrain's hook of the same name (which deletes them and
        so breaks ``strict=True``): whatever the checkpoint holds, the keys
        are set to this module's own rebuilt buffers.
        """
        for k in [k for k in state_dict if k.startswith(prefix)]:
            if k.rsplit('.', 1)[-1] in self.rebuilt_buffer_names:
                del state_dict[k]
        for name, buf in self.named_buffers():
            if name.rsplit('.', 1)[-1] in self.rebuilt_buffer_names:
                state_dict[prefix + name] = buf

    @staticmethod
    def rgb_to_rgbnir_weight(weight: torch.Tensor) -> torch.Tensor:
        """4-band patch-embedding kernel from an RGB one (NIR := R).

        Args:
            weight (Tensor): ``patch_embed.projection.weight`` of shape
                ``(C, 3, p, p)``, bands R, G, B (any device, ``meta`` too).

        Returns:
            Tensor: ``(C, 4, p, p)``, bands R, G, B, NIR with the R kernel
            copied for NIR.

        Raises:
            ValueError: If ``weight`` does not have 3 input bands.
        """
        if weight.dim() != 4 or weight.shape[1] != 3:
            raise ValueError('patch_embed.projection.weight must have shape '
                             f'(C, 3, p, p), got {tuple(weight.shape)}')
        return torch.cat([weight, weight[:, :1]], dim=1)

    @classmethod
    def rgb_to_rgbnir_state_dict(cls,
                                 state_dict: Mapping[str, torch.Tensor],
                                 prefix: str = '') -> Dict[str, torch.Tensor]:
        """Turn an RGB state dict into one for ``in_channels=4``.

        Args:
            state_dict (Mapping[str, Tensor]): State dict of an RGB model
                (e.g. the converted official ``backbone_hr.*`` weights).
            prefix (str): Prefix of this backbone's keys, e.g.
                ``'backbone_hr.'``. Defaults to ''.

        Returns:
            dict[str, Tensor]: A new dict; only
            ``<prefix>patch_embed.projection.weight`` is replaced (see
            :meth:`rgb_to_rgbnir_weight`).

        Raises:
            KeyError: If the patch-embedding weight is missing.
        """
        key = prefix + 'patch_embed.projection.weight'
        if key not in state_dict:
            raise KeyError(f'state_dict has no {key!r}')
        out = dict(state_dict)
        out[key] = cls.rgb_to_rgbnir_weight(state_dict[key])
        return out


def build_reference_swin_v2(model: SkySenseSwinV2,
                            load_weights: bool = True) -> SwinTransformerV2:
    """mmpretrain ``SwinTransformerV2`` with ``model``'s config and weights.

    The reference for parity tests and for
    ``tools/analysis_tools/benchmark_backbone.py``: same arch and arguments,
    same device, dtype and train/eval mode, weights copied from ``model``
    (all keys; the rebuilt position buffers come out identical).

    Args:
        model (SkySenseSwinV2): The model to mirror.
        load_weights (bool): Copy the weights. Defaults to True.

    Returns:
        SwinTransformerV2: The library module (``with_cp`` as in ``model``).

    Raises:
        TypeError: If ``model`` is not a :class:`SkySenseSwinV2`.
        RuntimeError: If the library module does not take every key.
    """
    if not isinstance(model, SkySenseSwinV2):
        raise TypeError('model must be a SkySenseSwinV2, got '
                        f'{type(model).__name__}')
    param = next(model.parameters())
    kwargs = dict(model.reference_kwargs, with_cp=model.with_cp)
    if param.is_meta:
        from ..utils.meta_build import init_on_meta
        with init_on_meta():
            ref = SwinTransformerV2(**kwargs)
    else:
        with torch.device(param.device):
            ref = SwinTransformerV2(**kwargs)
        ref.to(param.dtype)
    if load_weights:
        # mmpretrain's pre-hook deletes the rebuilt buffers, so they are the
        # only keys allowed to be reported missing.
        result = ref.load_state_dict(
            model.state_dict(), strict=False, assign=param.is_meta)
        missing = [
            k for k in result.missing_keys if k.rsplit('.', 1)[-1] not in
            SkySenseSwinV2.rebuilt_buffer_names
        ]
        if missing or result.unexpected_keys:
            raise RuntimeError(
                'reference SwinTransformerV2 does not match SkySenseSwinV2: '
                f'missing {missing}, unexpected {result.unexpected_keys}')
    ref.train(model.training)
    return ref
