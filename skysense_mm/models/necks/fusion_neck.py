"""Multi-modal temporal fusion of SkySense (the fusion neck).

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.2 Eq. 1-2.

The neck receives the spatial features of each modality, lifts the S2 / S1
ViT tokens onto the HR stride-32 grid (the official "UPHead": a 1x1 conv to
``scale^2 x C`` channels and ``PixelShuffle(scale)``), adds the day-of-year
date embedding, builds at every pixel the sequence
``[extra token, HR, S2 x T_s2, S1 x T_s1]``, runs an N-layer transformer over
it and returns the extra token's output ``F_fus^mm`` as a ``(B, d, h, w)``
map.

State-dict layout (identical to the official release after renaming
``head_s2.`` -> ``lift_s2.``, ``head_s1.`` -> ``lift_s1.``, ``ctpe`` ->
``date_embedding``, ``fusion.porj_linear`` -> ``fusion.proj``)::

    lift_s2.decoder.0.{weight,bias}   (scale^2*C, C_s2, 1, 1), (scale^2*C,)
    lift_s1.decoder.0.{weight,bias}
    date_embedding                    (1, 365, C)
    fusion.cls_token                  (1, 1, d)
    fusion.proj.{weight,bias}         (d, C), (d,)
    fusion.layers.N.*                 mmseg TransformerEncoderLayer keys

Dates. ``doy`` is the day of the year, 1 = 1 January. The embedding has 365
entries, entry ``doy - 1``; day 366 (31 December of a leap year) uses the
same entry as day 365, i.e. both are "the last day of the year" (the
official code indexes ``tm_yday - 1`` and would read out of bounds). The
embedding is added (before ``proj``, in the C-wide token space, as the
release) to every S2 / S1 token whose ``*_doy`` is given and to the HR token
when ``hr_doy`` is given; without a ``*_doy`` that modality gets none (the
paper adds it to all of F_T; SkySense++ adds it to S2 only).

Padding. Samples of one batch may have different numbers of dates: pad the
series to a common ``T`` and pass ``s2_mask`` / ``s1_mask`` of shape
``(B, T)``, **True for real dates** and False for padding. Padded dates are
removed from attention as keys (and their day of year is ignored), so they
change nothing in the output of the real dates. A sample whose mask is all
False simply has no date of that modality.
"""
from typing import List, Optional, Tuple

import torch
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import trunc_normal_
from torch import nn

from skysense_mm.registry import MODELS
from ..backbones.vit import SDPATransformerEncoderLayer, init_vit_weights

__all__ = [
    'SkySenseFusionNeck', 'FusionTransformer', 'TokenLift', 'doy_to_index'
]

NUM_DAYS = 365


def doy_to_index(doy: torch.Tensor,
                 valid: Optional[torch.Tensor] = None,
                 name: str = 'doy') -> torch.Tensor:
    """Day of year (1..366) -> row of the 365-entry date embedding.

    Day ``k`` maps to ``k - 1``; day 366 (leap years) maps to 364, the row
    of day 365. Entries where ``valid`` is False (padding) may hold any
    value and map to 0.

    Args:
        doy (Tensor): Integer days of year, any shape.
        valid (Tensor, optional): Bool mask of the same shape, True for real
            dates. Defaults to None (all real).
        name (str): Argument name used in error messages.

    Returns:
        Tensor: Long indices in ``[0, 364]``, same shape as ``doy``.
    """
    if not isinstance(doy, torch.Tensor):
        raise TypeError(f'{name} must be a Tensor, got {type(doy)}')
    if doy.dtype.is_floating_point:
        if not torch.equal(doy, doy.round()):
            raise ValueError(f'{name} must hold whole days of year')
    doy = doy.long()
    if valid is not None:
        doy = torch.where(valid.to(doy.device), doy, torch.ones_like(doy))
    if doy.numel() and (doy.min() < 1 or doy.max() > NUM_DAYS + 1):
        raise ValueError(f'{name}: day of year must be in 1..366 for real '
                         f'dates, got min {int(doy.min())} max '
                         f'{int(doy.max())}')
    return doy.clamp(max=NUM_DAYS) - 1


class TokenLift(BaseModule):
    """The official "UPHead": lift ViT tokens onto the HR feature grid.

    ``decoder = Sequential(Conv2d(in, scale^2 * out, 1), PixelShuffle(scale))``
    turns ``(N, in, h, w)`` into ``(N, out, h * scale, w * scale)``.

    Args:
        in_channels (int): ViT channels (1024 for ViT-L).
        out_channels (int): Token width of the fusion (2816 = HR stride 32).
        scale (int): Upsampling factor. Defaults to 4.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 scale: int = 4,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scale = scale
        self.decoder = nn.Sequential(
            nn.Conv2d(in_channels, out_channels * scale * scale, 1),
            nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(x)


class FusionTransformer(BaseModule):
    """The multi-modal temporal fusion transformer (official ``fusion``).

    ``proj`` (official ``porj_linear``) maps the ``in_channels`` tokens to
    ``embed_dims``; the learnable extra token ``cls_token`` is prepended and
    ``num_layers`` pre-norm encoder layers follow (no final norm, no position
    embedding, as the release). The layers are
    :class:`~skysense_mm.models.backbones.vit.SDPATransformerEncoderLayer`:
    the keys of mmseg's ``TransformerEncoderLayer`` (as the release), SDPA
    attention and a key-padding mask for padded dates. Returns the extra
    token's output.

    Args:
        in_channels (int): Token width before ``proj``. Defaults to 2816.
        embed_dims (int): ``d``. Defaults to 1024.
        num_layers (int): Defaults to 24.
        num_heads (int): Defaults to 16.
        mlp_ratio (int): FFN width / ``d``. Defaults to 4.
        qkv_bias (bool): Defaults to True.
        drop_rate (float): Dropout after attention/FFN. Defaults to 0.
        attn_drop_rate (float): Attention dropout. Defaults to 0.
        drop_path_rate (float): Stochastic depth, linear over the layers.
            Defaults to 0.
        norm_cfg (dict): Defaults to ``dict(type='LN')``.
        act_cfg (dict): Defaults to ``dict(type='GELU')``.
        with_cp (bool): Activation checkpointing per layer. Defaults to
            False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 2816,
                 embed_dims: int = 1024,
                 num_layers: int = 24,
                 num_heads: int = 16,
                 mlp_ratio: int = 4,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN'),
                 act_cfg: dict = dict(type='GELU'),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.proj = nn.Linear(in_channels, embed_dims)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        # python floats: works under the meta device too
        dpr = [
            drop_path_rate * i / max(num_layers - 1, 1)
            for i in range(num_layers)
        ]
        self.layers = ModuleList([
            SDPATransformerEncoderLayer(
                embed_dims=embed_dims,
                num_heads=num_heads,
                feedforward_channels=mlp_ratio * embed_dims,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                drop_path_rate=dpr[i],
                num_fcs=2,
                qkv_bias=qkv_bias,
                act_cfg=dict(act_cfg),
                norm_cfg=dict(norm_cfg),
                with_cp=with_cp) for i in range(num_layers)
        ])

    def init_weights(self) -> None:
        """The release's initialisation unless ``init_cfg`` is given."""
        if self.init_cfg is not None:
            return super().init_weights()
        trunc_normal_(self.cls_token, std=.02)
        init_vit_weights(self)
        self._is_init = True

    def forward(self,
                tokens: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Fuse per-pixel token sequences.

        Args:
            tokens (Tensor): ``(N, L, in_channels)`` per-pixel sequences.
            valid (Tensor, optional): ``(N, L)`` bool, False for padding.
                Defaults to None (no padding).

        Returns:
            Tensor: ``(N, embed_dims)`` output of the extra token.
        """
        return self.encode(self.proj(tokens), valid)

    def encode(self,
               x: torch.Tensor,
               valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Run the layers on already projected tokens.

        Args:
            x (Tensor): ``(N, L, embed_dims)``, i.e. ``proj(tokens)``.
            valid (Tensor, optional): ``(N, L)`` bool, False for padding.

        Returns:
            Tensor: ``(N, embed_dims)`` output of the extra token.
        """
        x = torch.cat(
            [self.cls_token.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        padding = None
        # no padding at all: keep the unmasked (fastest) kernels
        if valid is not None and not bool(valid.all()):
            # True = padded key; the extra token is never padded
            padding = torch.cat([valid.new_zeros(valid.shape[0], 1), ~valid],
                                1)
        for layer in self.layers:
            x = layer(x, padding)
        return x[:, 0]


@MODELS.register_module()
class SkySenseFusionNeck(BaseModule):
    """SkySense multi-modal temporal fusion: features -> ``F_fus^mm``.

    Any subset of the modalities it was built for may be given. Inputs are
    the outputs of the spatial encoders:

    - ``hr``: ``(B, C, h, w)``, the HR stride-32 map (``C = in_channels``);
    - ``s2`` / ``s1``: ``(B, T, C_vit, h', w')``, the last ViT level of every
      date, lifted by ``lift_s2`` / ``lift_s1`` to ``(C, h' * s, w' * s)``
      which must equal the HR grid ``(h, w)`` when both are given;
    - ``s2_doy`` / ``s1_doy``: ``(B, T)`` day of year 1..366 (see the module
      docstring; None adds no date embedding), ``hr_doy``: ``(B,)``
      optional acquisition day of the HR image;
    - ``s2_mask`` / ``s1_mask``: ``(B, T)`` bool, True for real dates.

    Args:
        in_channels (int): Common token width ``C`` (the HR stride-32
            channels, 2816 for Swin-V2-H). Defaults to 2816.
        in_channels_s2 (int, optional): ViT channels of S2; None: no S2
            lift. Defaults to 1024.
        in_channels_s1 (int, optional): ViT channels of S1; None: no S1
            lift. Defaults to 1024.
        lift_scale (int): PixelShuffle factor of the lifts. Defaults to 4.
        embed_dims (int): ``d``. Defaults to 1024.
        num_layers (int): Fusion layers. Defaults to 24.
        num_heads (int): Defaults to 16.
        mlp_ratio (int): Defaults to 4.
        qkv_bias (bool): Defaults to True.
        drop_rate (float): Defaults to 0.
        attn_drop_rate (float): Defaults to 0.
        drop_path_rate (float): Defaults to 0.3 (the release).
        norm_cfg (dict): Defaults to ``dict(type='LN')``.
        act_cfg (dict): Defaults to ``dict(type='GELU')``.
        num_days (int): Rows of the date embedding. Defaults to 365.
        with_cp (bool): Activation checkpointing. Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 2816,
                 in_channels_s2: Optional[int] = 1024,
                 in_channels_s1: Optional[int] = 1024,
                 lift_scale: int = 4,
                 embed_dims: int = 1024,
                 num_layers: int = 24,
                 num_heads: int = 16,
                 mlp_ratio: int = 4,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.3,
                 norm_cfg: dict = dict(type='LN'),
                 act_cfg: dict = dict(type='GELU'),
                 num_days: int = NUM_DAYS,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_days != NUM_DAYS:
            raise ValueError(f'num_days must be {NUM_DAYS} (the paper and '
                             f'the release), got {num_days}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        if in_channels_s2 is not None:
            self.lift_s2 = TokenLift(in_channels_s2, in_channels, lift_scale)
        if in_channels_s1 is not None:
            self.lift_s1 = TokenLift(in_channels_s1, in_channels, lift_scale)
        self.date_embedding = nn.Parameter(
            torch.zeros(1, num_days, in_channels))
        self.fusion = FusionTransformer(in_channels=in_channels,
                                        embed_dims=embed_dims,
                                        num_layers=num_layers,
                                        num_heads=num_heads,
                                        mlp_ratio=mlp_ratio,
                                        qkv_bias=qkv_bias,
                                        drop_rate=drop_rate,
                                        attn_drop_rate=attn_drop_rate,
                                        drop_path_rate=drop_path_rate,
                                        norm_cfg=norm_cfg,
                                        act_cfg=act_cfg,
                                        with_cp=with_cp)

    @property
    def modalities(self) -> Tuple[str, ...]:
        """The modalities this neck accepts."""
        return ('hr', ) + tuple(
            m for m in ('s2', 's1') if hasattr(self, f'lift_{m}'))

    def _date_embedding(self, doy, valid, name):
        index = doy_to_index(doy, valid, name).to(self.date_embedding.device)
        return self.date_embedding[0, index]  # (..., C)

    def _series_tokens(self, name: str, feats: torch.Tensor,
                       doy: Optional[torch.Tensor],
                       mask: Optional[torch.Tensor]):
        """Lift one series -> ``(B, h, w, T, C)`` tokens and ``(B, T)``."""
        if not hasattr(self, f'lift_{name}'):
            raise ValueError(f'`{name}` was given but this fusion neck has no '
                             f'lift for it (in_channels_{name}=None)')
        if not isinstance(feats, torch.Tensor) or feats.dim() != 5:
            raise ValueError(f'`{name}` features must be (B, T, C, h, w), '
                             f'got {getattr(feats, "shape", type(feats))}')
        b, t = feats.shape[:2]
        if t == 0:
            raise ValueError(f'`{name}` is an empty series (T = 0)')
        for arg, val in ((f'{name}_doy', doy), (f'{name}_mask', mask)):
            if val is not None and tuple(val.shape) != (b, t):
                raise ValueError(f'`{arg}` must have shape (B, T) = '
                                 f'{(b, t)} like `{name}`, got '
                                 f'{tuple(val.shape)}: dates and images '
                                 'must have the same length')
        if mask is not None:
            if mask.dtype != torch.bool:
                raise TypeError(f'`{name}_mask` must be bool (True = real '
                                f'date), got {mask.dtype}')
            mask = mask.to(feats.device)
        lift = getattr(self, f'lift_{name}')
        lifted = lift(feats.flatten(0, 1))  # B*T, C, H, W
        tokens = lifted.unflatten(0, (b, t)).permute(0, 3, 4, 1, 2)
        if doy is not None:
            tokens = tokens + self._date_embedding(doy.to(
                feats.device), mask, f'{name}_doy')[:, None, None].to(
                    tokens.dtype)
        return tokens, mask

    def forward(self,
                hr: Optional[torch.Tensor] = None,
                s2: Optional[torch.Tensor] = None,
                s1: Optional[torch.Tensor] = None,
                s2_doy: Optional[torch.Tensor] = None,
                s1_doy: Optional[torch.Tensor] = None,
                s2_mask: Optional[torch.Tensor] = None,
                s1_mask: Optional[torch.Tensor] = None,
                hr_doy: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Fuse the given modalities; see the class docstring for shapes.

        Returns:
            Tensor: ``F_fus^mm`` of shape ``(B, embed_dims, h, w)``.
        """
        parts: List[Tuple[str, torch.Tensor]] = []  # (name, B,h,w,T,C)
        masks: List[Optional[torch.Tensor]] = []
        if hr is not None:
            if hr.dim() != 4 or hr.shape[1] != self.in_channels:
                raise ValueError(f'`hr` features must be (B, '
                                 f'{self.in_channels}, h, w), got '
                                 f'{tuple(hr.shape)}')
            tokens = hr.permute(0, 2, 3, 1)[..., None, :]
            if hr_doy is not None:
                if tuple(hr_doy.shape) != (hr.shape[0], ):
                    raise ValueError('`hr_doy` must have shape (B,) = '
                                     f'({hr.shape[0]},), got '
                                     f'{tuple(hr_doy.shape)}')
                emb = self._date_embedding(hr_doy.to(hr.device), None,
                                           'hr_doy')
                tokens = tokens + emb[:, None, None, None].to(tokens.dtype)
            parts.append(('hr', tokens))
            masks.append(None)
        elif hr_doy is not None:
            raise ValueError('`hr_doy` was given without `hr`')
        for name, feats, doy, mask in (('s2', s2, s2_doy, s2_mask),
                                       ('s1', s1, s1_doy, s1_mask)):
            if feats is None:
                if doy is not None or mask is not None:
                    raise ValueError(f'`{name}_doy`/`{name}_mask` were given '
                                     f'without `{name}`')
                continue
            tokens, mask = self._series_tokens(name, feats, doy, mask)
            parts.append((name, tokens))
            masks.append(mask)
        if not parts:
            raise ValueError('SkySenseFusionNeck needs at least one of '
                             '`hr`, `s2`, `s1`')
        ref_name, ref = parts[0]
        for name, tokens in parts[1:]:
            if tokens.shape[:3] != ref.shape[:3]:
                raise ValueError(
                    'modalities cover different spatial extents: '
                    f'`{ref_name}` gives a (B, h, w) = {tuple(ref.shape[:3])} '
                    f'grid but `{name}` gives {tuple(tokens.shape[:3])} after '
                    'lifting (S2/S1 pixels must equal the HR stride-32 grid, '
                    'e.g. HR 512x512 with S2/S1 16x16)')
        b, h, w = ref.shape[:3]
        # project each part to d before concatenating (a smaller copy than
        # concatenating the C-wide tokens; same result as proj(concat))
        seq = torch.cat([self.fusion.proj(t) for _, t in parts], dim=3)
        valid = None
        if any(m is not None for m in masks):
            valid = torch.cat([
                m if m is not None else torch.ones(
                    b, t.shape[3], dtype=torch.bool, device=seq.device)
                for m, (_, t) in zip(masks, parts)
            ],
                              dim=1)  # B, L
            valid = valid[:, None, None].expand(b, h, w,
                                                -1).reshape(b * h * w, -1)
        out = self.fusion.encode(seq.reshape(b * h * w, seq.shape[3], -1),
                                 valid)
        return out.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
