"""Per-image spatial encoder of SkySense for Sentinel-2 and Sentinel-1.

SkySense (`arXiv:2312.10115 <https://arxiv.org/abs/2312.10115>`_) encodes
every Sentinel-2 (10 bands) and Sentinel-1 (2 bands) acquisition of a time
series independently with a ViT-L of patch size 4 (``g_Ms`` and ``g_SAR`` in
§3.2). The released weights (``backbone_s2.*`` / ``backbone_s1.*``) were
trained with an MMSegmentation-style ``VisionTransformer``;
:class:`SkySenseViT` keeps exactly that state-dict layout, so the official
tensors load without renaming, and runs the attention through
:func:`torch.nn.functional.scaled_dot_product_attention` (fused kernels, no
materialised attention matrix) instead of ``nn.MultiheadAttention`` with
``need_weights=True`` as MMCV does.

Differences from ``mmseg.models.backbones.VisionTransformer`` (all other
behaviour, including the residual/dropout/drop-path placement, is the same):

* Attention through SDPA (numerically equal up to float rounding).
* ``with_cp`` uses non-reentrant activation checkpointing.
* Layers after the last entry of ``out_indices`` are not run (their output is
  never used, so the result is identical).
* The position embedding is interpolated whenever the patch grid differs from
  the one it was trained for (mmseg only does so when the token count
  differs), and a checkpoint whose ``pos_embed`` has another length is
  resized bicubically on load.
* Inputs are validated: band count, spatial size, floating dtype and finite
  values (NaN nodata would otherwise silently spread through attention).
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.drop import build_dropout
from mmengine.logging import print_log
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import (constant_init, kaiming_init,
                                        trunc_normal_)
from mmseg.models.backbones.vit import (TransformerEncoderLayer,
                                        VisionTransformer)
from mmseg.models.utils import PatchEmbed

from skysense_mm.registry import MODELS

__all__ = [
    'SkySenseViT', 'SDPAMultiheadAttention', 'SDPATransformerEncoderLayer',
    'MODALITY_BANDS'
]

#: Band order expected by the official weights for each modality.
MODALITY_BANDS: Dict[str, Tuple[str, ...]] = {
    's2': ('B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B11', 'B12'),
    's1': ('VV', 'VH'),
}


def _is_tracing() -> bool:
    """True under torch.jit tracing/scripting or torch.compile."""
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return True
    compiler = getattr(torch, 'compiler', None)
    return bool(compiler is not None and hasattr(compiler, 'is_compiling')
                and compiler.is_compiling())


class SDPAMultiheadAttention(BaseModule):
    """Self-attention with the parameters of MMCV ``MultiheadAttention``.

    Drop-in replacement for ``mmcv.cnn.bricks.transformer.MultiheadAttention``
    (``batch_first=True``, self-attention only) used by SkySense
    (https://arxiv.org/abs/2312.10115). The weights live in an
    ``nn.MultiheadAttention`` child named ``attn`` so the state-dict keys are
    ``attn.in_proj_weight``, ``attn.in_proj_bias``, ``attn.out_proj.*`` as in
    MMCV, but the computation is one ``F.linear`` for q/k/v and
    :func:`torch.nn.functional.scaled_dot_product_attention`.

    Args:
        embed_dims (int): Token dimension.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        attn_drop (float): Dropout on the attention weights. Defaults to 0.
        proj_drop (float): Dropout after the output projection.
            Defaults to 0.
        bias (bool): Bias of the q/k/v and output projections (MMCV passes
            ``qkv_bias`` here, which also removes the output bias).
            Defaults to True.
        batch_first (bool): Must be True: inputs are (B, N, C).
        dropout_layer (dict, optional): Config of the dropout on the residual
            branch (e.g. ``DropPath``). Defaults to None (identity).
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 bias: bool = True,
                 batch_first: bool = True,
                 dropout_layer: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not batch_first:
            raise ValueError('SDPAMultiheadAttention: `batch_first` must be '
                             'True (inputs are (B, N, C))')
        if embed_dims % num_heads != 0:
            raise ValueError(f'SDPAMultiheadAttention: `embed_dims` '
                             f'({embed_dims}) must be divisible by '
                             f'`num_heads` ({num_heads})')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.attn_drop = float(attn_drop)
        self.attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=attn_drop, bias=bias,
            batch_first=True)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = build_dropout(
            dropout_layer) if dropout_layer else nn.Identity()

    def forward(self,
                query: torch.Tensor,
                identity: Optional[torch.Tensor] = None,
                key_padding_mask: Optional[torch.Tensor] = None,
                **kwargs) -> torch.Tensor:
        """Self-attention of ``query`` plus the residual ``identity``.

        Args:
            query (Tensor): Tokens of shape (B, N, C).
            identity (Tensor, optional): Residual; ``query`` if None.
            key_padding_mask (Tensor, optional): Bool (B, N), True marks a
                padded token that no query may attend to (the
                ``nn.MultiheadAttention`` convention).

        Returns:
            Tensor: (B, N, C).
        """
        if identity is None:
            identity = query
        B, N, C = query.shape
        head_dims = C // self.num_heads
        qkv = F.linear(query, self.attn.in_proj_weight, self.attn.in_proj_bias)
        q, k, v = qkv.view(B, N, 3, self.num_heads,
                           head_dims).permute(2, 0, 3, 1, 4).unbind(0)
        attn_mask = None
        if key_padding_mask is not None:
            if key_padding_mask.dtype != torch.bool:
                raise TypeError('SDPAMultiheadAttention: `key_padding_mask` '
                                'must be a bool tensor (True = padded), got '
                                f'{key_padding_mask.dtype}')
            if tuple(key_padding_mask.shape) != (B, N):
                raise ValueError('SDPAMultiheadAttention: `key_padding_mask` '
                                 f'must have shape {(B, N)}, got '
                                 f'{tuple(key_padding_mask.shape)}')
            attn_mask = ~key_padding_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask,
            dropout_p=self.attn_drop if self.training else 0.)
        out = self.attn.out_proj(out.transpose(1, 2).reshape(B, N, C))
        return identity + self.dropout_layer(self.proj_drop(out))


class SDPATransformerEncoderLayer(TransformerEncoderLayer):
    """mmseg ``TransformerEncoderLayer`` with SDPA attention.

    Same modules and state-dict keys as
    ``mmseg.models.backbones.vit.TransformerEncoderLayer`` (``ln1``,
    ``attn.attn.*``, ``ln2``, ``ffn.layers.*``); the attention is
    :class:`SDPAMultiheadAttention`, ``with_cp`` uses non-reentrant
    checkpointing and ``forward`` accepts a ``key_padding_mask``. Used by the
    SkySense (https://arxiv.org/abs/2312.10115) S2/S1 encoders.

    Args:
        embed_dims (int): Token dimension.
        num_heads (int): Number of attention heads.
        feedforward_channels (int): Hidden dimension of the FFN.
        attn_cfg (dict, optional): Extra arguments of the attention module.
        ffn_cfg (dict, optional): Extra arguments of the MMCV ``FFN``.
        **kwargs: The other arguments of mmseg ``TransformerEncoderLayer``
            (``drop_rate``, ``attn_drop_rate``, ``drop_path_rate``,
            ``num_fcs``, ``qkv_bias``, ``act_cfg``, ``norm_cfg``,
            ``with_cp``). As in mmseg, drop path applies to the FFN branch
            only.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 attn_cfg: Optional[dict] = None,
                 ffn_cfg: Optional[dict] = None,
                 **kwargs):
        # fresh dicts: mmseg mutates its (shared, mutable) default arguments
        super().__init__(
            embed_dims=embed_dims,
            num_heads=num_heads,
            feedforward_channels=feedforward_channels,
            attn_cfg=dict(attn_cfg or {}),
            ffn_cfg=dict(ffn_cfg or {}),
            batch_first=True,
            **kwargs)

    def build_attn(self, attn_cfg: dict) -> None:
        """Build :class:`SDPAMultiheadAttention` from mmseg's config."""
        self.attn = SDPAMultiheadAttention(**attn_cfg)

    def forward(self,
                x: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """Pre-norm attention and FFN blocks on tokens (B, N, C)."""

        def _inner_forward(x):
            x = self.attn(
                self.norm1(x), identity=x, key_padding_mask=key_padding_mask)
            return self.ffn(self.norm2(x), identity=x)

        if self.with_cp and x.requires_grad and torch.is_grad_enabled():
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)


def init_vit_weights(module: nn.Module) -> None:
    """mmseg's ViT initialisation of every submodule of ``module``.

    Linear: truncated normal (std 0.02), bias 0 (FFN biases N(0, 1e-6));
    Conv2d: Kaiming fan-in; LayerNorm/GroupNorm: weight 1, bias 0.
    """
    for name, m in module.named_modules():
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                if 'ffn' in name:
                    nn.init.normal_(m.bias, mean=0., std=1e-6)
                else:
                    nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Conv2d):
            kaiming_init(m, mode='fan_in', bias=0.)
        elif isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
            constant_init(m, val=1.0, bias=0.)


@MODELS.register_module()
class SkySenseViT(BaseModule):
    """ViT spatial encoder of SkySense for Sentinel-2 / Sentinel-1 images.

    The S2 and S1 encoders of SkySense
    (https://arxiv.org/abs/2312.10115, §3.2) are ViT-L with patch size 4
    applied to each acquisition. The state-dict keys are identical to
    ``mmseg.models.backbones.VisionTransformer`` (``patch_embed.projection``,
    ``cls_token``, ``pos_embed``, ``layers.N.{ln1, attn.attn, ln2, ffn}``),
    i.e. to the official ``backbone_s2.*`` / ``backbone_s1.*`` tensors after
    stripping the prefix; the official model has no patch-embedding bias and
    no final norm, which are the defaults here.

    Inputs whose patch grid differs from ``img_size // patch_size`` get the
    position embedding bicubically interpolated (as mmseg does); a checkpoint
    whose ``pos_embed`` has another (square) grid is resized on load.

    Args:
        arch (str | dict): ``'tiny'`` (192/12/3), ``'small'`` (384/12/6),
            ``'base'`` (768/12/12) or ``'large'`` (1024/24/16, the official
            one), or a dict with ``embed_dims``, ``num_layers``,
            ``num_heads`` and optionally ``feedforward_channels`` (default
            ``4 * embed_dims``). Defaults to ``'large'``.
        modality (str): Name used in error messages; ``'s2'`` (10 bands
            B2,B3,B4,B5,B6,B7,B8,B8A,B11,B12) or ``'s1'`` (2 bands VV,VH) also
            set the default ``in_channels``. Defaults to ``'s2'``.
        in_channels (int, optional): Number of input bands; defaults to the
            band count of ``modality``.
        img_size (int | tuple[int, int]): Image size the position embedding
            is defined for. The official checkpoint has 4x4+1 tokens, i.e.
            16. Defaults to 16.
        patch_size (int): Patch size. Defaults to 4.
        out_indices (int | Sequence[int]): Layers whose output is returned
            (negative values count from the end). SkySense++ uses
            ``(5, 11, 17, 23)``. Defaults to -1 (last layer).
        qkv_bias (bool): Bias of the attention projections. Defaults to True.
        drop_rate (float): Dropout after the position embedding and in the
            projections. Defaults to 0.
        attn_drop_rate (float): Attention dropout. Defaults to 0.
        drop_path_rate (float): Stochastic depth, linearly increasing over
            layers, on the FFN branch (as in mmseg). Defaults to 0.
        with_cls_token (bool): Prepend the class token. Defaults to True.
        output_cls_token (bool): Return ``[feature_map, cls_token]`` per
            level (requires ``with_cls_token``). Defaults to False.
        final_norm (bool): LayerNorm (``ln1``) after the last layer.
            Defaults to False (as in the official weights).
        norm_cfg (dict): Norm config. Defaults to ``dict(type='LN')``.
        act_cfg (dict): FFN activation. Defaults to ``dict(type='GELU')``.
        patch_bias (bool): Bias of the patch projection. Defaults to False.
        patch_pad (str, optional): None (default): an input whose height or
            width is not a multiple of ``patch_size`` raises ``ValueError``.
            ``'corner'`` / ``'same'``: pad it as mmseg's ``PatchEmbed`` does
            (output grid ``ceil(H / patch_size)``).
        interpolate_mode (str): Mode of position-embedding resizing.
            Defaults to ``'bicubic'``.
        check_finite (bool): Raise ``ValueError`` when the input holds NaN or
            Inf (one reduction over the input and one host sync per call;
            skipped on the meta device and while tracing/compiling).
            Defaults to True.
        with_cp (bool): Activation checkpointing of every layer.
            Defaults to False.
        init_cfg (dict, optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone_s2.')``.
            Defaults to None (mmseg's ViT initialisation).
    """

    arch_zoo = {
        'tiny': dict(embed_dims=192, num_layers=12, num_heads=3),
        'small': dict(embed_dims=384, num_layers=12, num_heads=6),
        'base': dict(embed_dims=768, num_layers=12, num_heads=12),
        'large': dict(embed_dims=1024, num_layers=24, num_heads=16),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'large',
                 modality: str = 's2',
                 in_channels: Optional[int] = None,
                 img_size: Union[int, Sequence[int]] = 16,
                 patch_size: int = 4,
                 out_indices: Union[int, Sequence[int]] = -1,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 with_cls_token: bool = True,
                 output_cls_token: bool = False,
                 final_norm: bool = False,
                 norm_cfg: dict = dict(type='LN'),
                 act_cfg: dict = dict(type='GELU'),
                 patch_bias: bool = False,
                 patch_pad: Optional[str] = None,
                 interpolate_mode: str = 'bicubic',
                 check_finite: bool = True,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        arch = self._parse_arch(arch)
        self.embed_dims = arch['embed_dims']
        self.num_layers = arch['num_layers']
        self.num_heads = arch['num_heads']
        self.feedforward_channels = arch['feedforward_channels']

        if not isinstance(modality, str) or not modality:
            raise TypeError('SkySenseViT: `modality` must be a non-empty '
                            f'str, got {modality!r}')
        self.modality = modality
        if in_channels is None:
            if modality not in MODALITY_BANDS:
                raise ValueError(
                    f'SkySenseViT: `in_channels` is required for modality '
                    f'{modality!r} (known: {sorted(MODALITY_BANDS)})')
            in_channels = len(MODALITY_BANDS[modality])
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError('SkySenseViT: `in_channels` must be a positive '
                             f'int, got {in_channels!r}')
        self.in_channels = in_channels
        bands = MODALITY_BANDS.get(modality)
        self.band_names = bands if bands and len(
            bands) == in_channels else None

        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError('SkySenseViT: `patch_size` must be a positive '
                             f'int, got {patch_size!r}')
        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        img_size = tuple(img_size)
        if len(img_size) != 2 or min(img_size) < patch_size:
            raise ValueError('SkySenseViT: `img_size` must be an int or an '
                             '(H, W) pair of at least `patch_size` '
                             f'({patch_size}), got {img_size}')
        if patch_pad not in (None, 'corner', 'same'):
            raise ValueError("SkySenseViT: `patch_pad` must be None, "
                             f"'corner' or 'same', got {patch_pad!r}")
        if output_cls_token and not with_cls_token:
            raise ValueError('SkySenseViT: `output_cls_token=True` requires '
                             '`with_cls_token=True`')
        self.img_size = img_size
        self.patch_size = patch_size
        self.patch_pad = patch_pad
        self.pos_grid = (img_size[0] // patch_size, img_size[1] // patch_size)
        self.interpolate_mode = interpolate_mode
        self.with_cls_token = with_cls_token
        self.output_cls_token = output_cls_token
        self.check_finite = check_finite
        self.with_cp = with_cp
        self.out_indices = self._parse_out_indices(out_indices)

        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=self.embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=patch_size,
            padding=patch_pad if patch_pad is not None else 0,
            bias=patch_bias,
            norm_cfg=None,
            init_cfg=None)
        num_patches = self.pos_grid[0] * self.pos_grid[1]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + 1, self.embed_dims))
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        # stochastic depth decay rule of mmseg (on CPU: works under a meta
        # default device)
        dpr = torch.linspace(
            0, drop_path_rate, self.num_layers, device='cpu').tolist()
        self.layers = ModuleList()
        for i in range(self.num_layers):
            self.layers.append(
                SDPATransformerEncoderLayer(
                    embed_dims=self.embed_dims,
                    num_heads=self.num_heads,
                    feedforward_channels=self.feedforward_channels,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    drop_path_rate=dpr[i],
                    qkv_bias=qkv_bias,
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                    with_cp=with_cp))

        self.final_norm = final_norm
        if final_norm:
            self.norm1_name, norm1 = build_norm_layer(
                norm_cfg, self.embed_dims, postfix=1)
            self.add_module(self.norm1_name, norm1)

    # ------------------------------------------------------------------ setup
    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch.lower() not in cls.arch_zoo:
                raise ValueError(f'SkySenseViT: unknown `arch` {arch!r}; '
                                 f'choose from {sorted(cls.arch_zoo)} or '
                                 'pass a dict')
            arch = cls.arch_zoo[arch.lower()]
        elif not isinstance(arch, dict):
            raise TypeError('SkySenseViT: `arch` must be a str or a dict, '
                            f'got {type(arch).__name__}')
        required = {'embed_dims', 'num_layers', 'num_heads'}
        allowed = required | {'feedforward_channels'}
        if not required <= set(arch) or not set(arch) <= allowed:
            raise ValueError(f'SkySenseViT: custom `arch` needs keys '
                             f'{sorted(required)} (optional '
                             f"'feedforward_channels'), got {sorted(arch)}")
        arch = dict(arch)
        arch.setdefault('feedforward_channels', 4 * arch['embed_dims'])
        for key, value in arch.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'SkySenseViT: `arch[{key!r}]` must be a '
                                 f'positive int, got {value!r}')
        if arch['embed_dims'] % arch['num_heads']:
            raise ValueError(f"SkySenseViT: `arch['embed_dims']` "
                             f"({arch['embed_dims']}) must be divisible by "
                             f"`arch['num_heads']` ({arch['num_heads']})")
        return arch

    def _parse_out_indices(self, out_indices) -> Tuple[int, ...]:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        if not isinstance(out_indices, Sequence) or not out_indices or \
                not all(isinstance(i, int) for i in out_indices):
            raise TypeError('SkySenseViT: `out_indices` must be an int or a '
                            f'non-empty sequence of ints, got {out_indices!r}')
        parsed = []
        for i in out_indices:
            j = i + self.num_layers if i < 0 else i
            if not 0 <= j < self.num_layers:
                raise ValueError(f'SkySenseViT: `out_indices` entry {i} is '
                                 f'outside the {self.num_layers} layers')
            parsed.append(j)
        if len(set(parsed)) != len(parsed):
            raise ValueError('SkySenseViT: `out_indices` has duplicates: '
                             f'{list(out_indices)}')
        return tuple(sorted(parsed))

    @property
    def norm1(self) -> nn.Module:
        """The final norm (only when ``final_norm=True``)."""
        return getattr(self, self.norm1_name)

    def init_weights(self) -> None:
        """Initialise like mmseg's ViT, or from ``init_cfg`` if given."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        trunc_normal_(self.pos_embed, std=.02)
        trunc_normal_(self.cls_token, std=.02)
        init_vit_weights(self)

    # --------------------------------------------------------- pos embedding
    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        """Resize a ``pos_embed`` of another grid before loading it."""
        key = prefix + 'pos_embed'
        src = state_dict.get(key)
        if isinstance(src, torch.Tensor) and \
                src.shape != self.pos_embed.shape:
            resized = self._resize_checkpoint_pos_embed(src, key, error_msgs)
            if resized is not None:
                state_dict[key] = resized
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def _resize_checkpoint_pos_embed(self, src: torch.Tensor, key: str,
                                     error_msgs: list
                                     ) -> Optional[torch.Tensor]:
        side = math.isqrt(src.shape[1] - 1) if src.dim() == 3 and \
            src.shape[1] > 1 else -1
        if src.dim() != 3 or src.shape[0] != 1 or \
                src.shape[2] != self.embed_dims or side * side + 1 != \
                src.shape[1]:
            error_msgs.append(
                f'SkySenseViT(modality={self.modality!r}): cannot resize '
                f'checkpoint {key} of shape {tuple(src.shape)} to '
                f'{tuple(self.pos_embed.shape)}: expected (1, 1 + s*s, '
                f'{self.embed_dims}) with a square grid s x s')
            return None
        print_log(
            f'SkySenseViT(modality={self.modality!r}): resize {key} from '
            f'{side}x{side}+1 to {self.pos_grid[0]}x{self.pos_grid[1]}+1 '
            f'tokens ({self.interpolate_mode})',
            logger='current')
        return self.resize_pos_embed(src, self.pos_grid, (side, side),
                                     self.interpolate_mode)

    @staticmethod
    def resize_pos_embed(pos_embed: torch.Tensor, input_shape: Tuple[int,
                                                                     int],
                         pos_shape: Tuple[int, int],
                         mode: str = 'bicubic') -> torch.Tensor:
        """Resize a (1, 1 + h*w, C) position embedding to another grid.

        Same as mmseg's ``VisionTransformer.resize_pos_embed`` (the class
        token entry is kept, the grid is interpolated with
        ``align_corners=False``); half-precision tensors are interpolated in
        float32.

        Args:
            pos_embed (Tensor): (1, 1 + h*w, C).
            input_shape (tuple[int, int]): Target grid (H', W').
            pos_shape (tuple[int, int]): Grid (h, w) of ``pos_embed``.
            mode (str): Interpolation mode. Defaults to ``'bicubic'``.

        Returns:
            Tensor: (1, 1 + H'*W', C) of the dtype of ``pos_embed``.
        """
        dtype = pos_embed.dtype
        if dtype in (torch.float16, torch.bfloat16):
            pos_embed = pos_embed.float()
        out = VisionTransformer.resize_pos_embed(pos_embed,
                                                 tuple(input_shape),
                                                 tuple(pos_shape), mode)
        return out.to(dtype)

    def _pos_embed_for(self, hw_shape: Tuple[int, int]) -> torch.Tensor:
        if tuple(hw_shape) == self.pos_grid:
            return self.pos_embed
        return self.resize_pos_embed(self.pos_embed, hw_shape, self.pos_grid,
                                     self.interpolate_mode)

    # ---------------------------------------------------------------- forward
    def _describe(self) -> str:
        return f'SkySenseViT(modality={self.modality!r})'

    def _check_inputs(self, inputs) -> None:
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f'{self._describe()}: `inputs` must be a '
                            'torch.Tensor (B, C, H, W), got '
                            f'{type(inputs).__name__}')
        if inputs.dim() != 4:
            raise ValueError(f'{self._describe()}: `inputs` must be '
                             '(B, C, H, W), got shape '
                             f'{tuple(inputs.shape)}')
        if not inputs.is_floating_point():
            raise TypeError(f'{self._describe()}: `inputs` must be a '
                            'floating-point (normalised) tensor, got '
                            f'{inputs.dtype}')
        if inputs.shape[1] != self.in_channels:
            names = f' ({", ".join(self.band_names)})' \
                if self.band_names else ''
            raise ValueError(f'{self._describe()}: `inputs` must have '
                             f'{self.in_channels} bands{names} in dim 1, got '
                             f'{inputs.shape[1]} (shape '
                             f'{tuple(inputs.shape)})')
        H, W = inputs.shape[-2:]
        p = self.patch_size
        if self.patch_pad is None and (H % p or W % p or H == 0 or W == 0):
            raise ValueError(f'{self._describe()}: `inputs` height and width '
                             f'must be positive multiples of the patch size '
                             f'{p}, got {H}x{W} (crop/pad the image or set '
                             "patch_pad='corner')")
        if self.check_finite and not inputs.is_meta and not _is_tracing():
            if not bool(torch.isfinite(inputs).all()):
                bad = (~torch.isfinite(inputs)).flatten(2).any(-1).any(0)
                idx = bad.nonzero().flatten().tolist()
                names = [self.band_names[i] if self.band_names else str(i)
                         for i in idx]
                raise ValueError(
                    f'{self._describe()}: `inputs` contains NaN or Inf in '
                    f'band(s) {names}; replace nodata by a finite value (and '
                    'mask it downstream) before the encoder')

    def forward(self, inputs: torch.Tensor) -> tuple:
        """Encode a batch of images.

        Args:
            inputs (Tensor): (B, in_channels, H, W), normalised, finite.

        Returns:
            tuple: One entry per ``out_indices`` (in layer order): a feature
            map (B, embed_dims, H / patch_size, W / patch_size), or
            ``[feature_map, cls_token (B, embed_dims)]`` when
            ``output_cls_token``.
        """
        self._check_inputs(inputs)
        x, hw_shape = self.patch_embed(inputs)
        B = x.shape[0]
        pos_embed = self._pos_embed_for(hw_shape)
        if self.with_cls_token:
            cls_tokens = self.cls_token.expand(B, -1, -1)
            x = torch.cat((cls_tokens, x), dim=1) + pos_embed
        else:
            x = x + pos_embed[:, 1:]
        x = self.drop_after_pos(x)

        outs = []
        last = self.out_indices[-1]
        for i in range(last + 1):
            x = self.layers[i](x)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.norm1(x)
            if i in self.out_indices:
                tokens = x[:, 1:] if self.with_cls_token else x
                out = tokens.reshape(B, hw_shape[0], hw_shape[1],
                                     -1).permute(0, 3, 1, 2).contiguous()
                if self.output_cls_token:
                    out = [out, x[:, 0]]
                outs.append(out)
        return tuple(outs)
