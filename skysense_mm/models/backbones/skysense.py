"""SkySense: the factorized multi-modal spatiotemporal encoder.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.2 and Fig. 3.

:class:`SkySense` composes (each part optional, built from its sub-config
with ``MODELS.build``; attribute names are the state-dict prefixes):

- ``backbone_hr``: the HR optical encoder (``SkySenseSwinV2``, Swin-V2-H);
- ``backbone_s2`` / ``backbone_s1``: the Sentinel-2 / Sentinel-1 encoders
  (``SkySenseViT``, ViT-L), applied to every date;
- ``fusion_neck``: :class:`~skysense_mm.models.necks.SkySenseFusionNeck`,
  giving ``F_fus^mm``;
- ``geo_prototypes``:
  :class:`~skysense_mm.models.necks.GeoContextPrototypes`, giving ``F_fus``
  (needs ``fusion_neck``).

Modular use (Fig. 3): HR alone, S2 alone, S1 alone (the encoder only, no
fusion neck), any combination (needs the fusion neck), with or without
geo-context (``geo_prototypes`` in the config, ``latlon`` in the inputs).
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from skysense_mm.registry import MODELS
from ..utils.sinkhorn import sinkhorn_cluster

__all__ = ['SkySense']

Inputs = Union[torch.Tensor, Mapping[str, torch.Tensor]]

_SERIES = ('s2', 's1')
_MODALITIES = ('hr', ) + _SERIES
_INPUT_KEYS = ('hr', 'hr_doy', 's2', 's2_doy', 's2_mask', 's1', 's1_doy',
               's1_mask', 'latlon', 'region_idx')
_GRANULARITIES = ('pixel', 'object', 'image')


def _expected_bands(backbone) -> Optional[int]:
    bands = getattr(backbone, 'in_channels', None)
    if isinstance(bands, int):
        return bands
    proj = getattr(getattr(backbone, 'patch_embed', None), 'projection', None)
    return getattr(proj, 'in_channels', None)


@MODELS.register_module()
class SkySense(BaseModule):
    """The SkySense encoder, usable module by module.

    Inputs (:meth:`forward`, :meth:`forward_features`): either a plain
    tensor, which is the image of the only encoder when just one is
    configured and otherwise the HR image (so the model drops into an mmseg
    ``EncoderDecoder`` / mmdet detector as ``type='skysense_mm.SkySense'``),
    or a dict with any of:

    - ``hr``: ``(B, C_hr, H, W)`` HR image (3 bands R,G,B or 4 with NIR);
    - ``hr_doy``: ``(B,)`` optional day of year of the HR image;
    - ``s2``: ``(B, T, 10, h, w)`` Sentinel-2 series (a ``(B, 10, h, w)``
      tensor is a series of one date); ``s2_doy``: ``(B, T)`` day of year
      1..366 (optional: no date embedding without it); ``s2_mask``:
      ``(B, T)`` bool, True for real dates, False for padding (optional);
    - ``s1``, ``s1_doy``, ``s1_mask``: the same for Sentinel-1 (2 bands);
    - ``latlon``: ``(B, 2)`` (lat, lon) in degrees, or ``region_idx``
      ``(B,)``, for the geo-context prototypes.

    Spatial extents must agree: the S2 / S1 images must cover the HR image
    with one S2/S1 pixel per HR stride-32 cell (e.g. HR 512x512 with S2/S1
    16x16: ViT patch 4 gives 4x4 tokens, lifted x4 to 16x16).

    Output of :meth:`forward` (for dense heads): a tuple of maps. With an HR
    encoder these are its levels (strides 4, 8, 16, 32) and, when the
    fusion neck ran, the fused map at stride 32 appended as the last item
    (``fused_output='append'``, the SkySense++ layout: a UperNet gets
    ``in_channels=[C0, C1, C2, C3, d]``) or put in place of the stride-32
    level (``fused_output='replace'``). The fused map is ``F_fus`` (2d
    channels) with geo-context, else ``F_fus^mm`` (d channels). Without HR
    the tuple is ``(fused,)``; a single S2/S1 encoder without fusion neck
    gives its ViT levels, averaged over the real dates.

    Feature granularities (:meth:`extract_features`, paper §3.3):

    - ``pixel``: the feature map ``(B, C, h, w)`` (the fused map when the
      fusion neck ran, else the last HR level, else the date-averaged last
      ViT level);
    - ``image``: its global average over pixels ``(B, C)`` (Eq. 7);
    - ``object``: ``(B, K, C)``, one vector per object: the mean of the
      pixel features inside each of K given masks (``object_masks``
      ``(B, K, H, W)``, any resolution, resized to the feature grid), or,
      without masks, the K centres of a Sinkhorn-Knopp clustering of the
      image's pixel features (Eq. 6).

    Args:
        backbone_hr (dict, optional): Config of the HR encoder.
        backbone_s2 (dict, optional): Config of the S2 encoder.
        backbone_s1 (dict, optional): Config of the S1 encoder.
        fusion_neck (dict, optional): Config of the fusion neck; required to
            combine modalities.
        geo_prototypes (dict, optional): Config of the geo-context
            prototypes (requires ``fusion_neck``); frozen (a buffer).
        fused_output (str): ``'append'`` or ``'replace'``, see above.
            Defaults to ``'append'``.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 backbone_hr: Optional[dict] = None,
                 backbone_s2: Optional[dict] = None,
                 backbone_s1: Optional[dict] = None,
                 fusion_neck: Optional[dict] = None,
                 geo_prototypes: Optional[dict] = None,
                 fused_output: str = 'append',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if fused_output not in ('append', 'replace'):
            raise ValueError("fused_output must be 'append' or 'replace', "
                             f'got {fused_output!r}')
        self.fused_output = fused_output
        cfgs = dict(hr=backbone_hr, s2=backbone_s2, s1=backbone_s1)
        if all(c is None for c in cfgs.values()):
            raise ValueError('SkySense needs at least one of backbone_hr, '
                             'backbone_s2, backbone_s1')
        for name, cfg in cfgs.items():
            if cfg is not None:
                setattr(self, f'backbone_{name}', MODELS.build(cfg))
        self.modalities = tuple(n for n in _MODALITIES if cfgs[n] is not None)
        if fusion_neck is not None:
            self.fusion_neck = MODELS.build(fusion_neck)
        if geo_prototypes is not None:
            if fusion_neck is None:
                raise ValueError('geo_prototypes act on the fused feature '
                                 'F_fus^mm: configure fusion_neck too')
            self.geo_prototypes = MODELS.build(geo_prototypes)

    @property
    def with_fusion(self) -> bool:
        """Whether the model has a fusion neck."""
        return hasattr(self, 'fusion_neck')

    @property
    def with_geo(self) -> bool:
        """Whether the model has geo-context prototypes."""
        return hasattr(self, 'geo_prototypes')

    # ------------------------------------------------------------------
    # inputs
    # ------------------------------------------------------------------
    def _parse_inputs(self, inputs: Inputs) -> Dict[str, torch.Tensor]:
        """Validate the inputs and bring series to ``(B, T, C, h, w)``."""
        # imported here: necks.fusion_neck imports backbones.vit
        from ..necks.fusion_neck import doy_to_index
        if isinstance(inputs, torch.Tensor):
            key = self.modalities[0] if len(self.modalities) == 1 else 'hr'
            inputs = {key: inputs}
        if not isinstance(inputs, Mapping):
            raise TypeError('SkySense inputs must be a Tensor or a dict of '
                            f'modalities, got {type(inputs)}')
        unknown = sorted(set(inputs) - set(_INPUT_KEYS))
        if unknown:
            raise ValueError(f'unknown SkySense input keys {unknown}; '
                             f'allowed: {list(_INPUT_KEYS)}')
        data = {k: v for k, v in inputs.items() if v is not None}
        given = [m for m in _MODALITIES if m in data]
        if not given:
            raise ValueError('SkySense inputs hold none of the modalities '
                             f'{list(_MODALITIES)}')
        for m in given:
            if m not in self.modalities:
                raise ValueError(f'input `{m}` was given but this model has '
                                 f'no backbone_{m}')
            if not isinstance(data[m], torch.Tensor):
                raise TypeError(f'`{m}` must be a Tensor, got '
                                f'{type(data[m])}')
        if len(given) > 1 and not self.with_fusion:
            raise ValueError(f'combining modalities {given} needs a '
                             'fusion_neck in the model config')
        batch = None
        for m in given:
            x = data[m]
            if m in _SERIES and x.dim() == 4:
                x = data[m] = x.unsqueeze(1)  # one date
            want = 4 if m == 'hr' else 5
            if x.dim() != want:
                shape = '(B, C, H, W)' if m == 'hr' else '(B, T, C, h, w)'
                raise ValueError(f'`{m}` must be {shape}, got '
                                 f'{tuple(x.shape)}')
            bands = _expected_bands(getattr(self, f'backbone_{m}'))
            chan = x.shape[1] if m == 'hr' else x.shape[2]
            if bands is not None and chan != bands:
                raise ValueError(f'`{m}` has {chan} bands but backbone_{m} '
                                 f'expects {bands} (in_channels)')
            if m in _SERIES and x.shape[1] == 0:
                raise ValueError(f'`{m}` is an empty series (T = 0)')
            if batch is None:
                batch = (m, x.shape[0])
            elif x.shape[0] != batch[1]:
                raise ValueError(f'batch sizes differ: `{batch[0]}` has '
                                 f'{batch[1]} samples, `{m}` has '
                                 f'{x.shape[0]}')
        for m in _SERIES:
            for suffix in ('_doy', '_mask'):
                key = m + suffix
                if key not in data:
                    continue
                if m not in data:
                    raise ValueError(f'`{key}` was given without `{m}`')
                val = data[key]
                if not isinstance(val, torch.Tensor):
                    val = data[key] = torch.as_tensor(val)
                if val.dim() == 1 and data[m].shape[1] == 1:
                    val = data[key] = val[:, None]
                if tuple(val.shape) != tuple(data[m].shape[:2]):
                    raise ValueError(
                        f'`{key}` must have shape (B, T) = '
                        f'{tuple(data[m].shape[:2])} like `{m}`, got '
                        f'{tuple(val.shape)}: dates and images must have '
                        'the same length')
            mask = data.get(m + '_mask')
            if mask is not None:
                if mask.dtype != torch.bool:
                    raise TypeError(f'`{m}_mask` must be bool (True = real '
                                    f'date), got {mask.dtype}')
                if not bool(mask.any()):
                    raise ValueError(f'`{m}_mask` marks no real date in the '
                                     f'whole batch: an empty series; leave '
                                     f'out `{m}` instead')
            if m + '_doy' in data:
                doy_to_index(data[m + '_doy'], mask, m + '_doy')
        if 'hr_doy' in data:
            if 'hr' not in data:
                raise ValueError('`hr_doy` was given without `hr`')
            doy_to_index(data['hr_doy'], None, 'hr_doy')
        if 's2' in data and 's1' in data and \
                data['s2'].shape[-2:] != data['s1'].shape[-2:]:
            raise ValueError(
                'modalities cover different spatial extents: `s2` is '
                f'{tuple(data["s2"].shape[-2:])} and `s1` is '
                f'{tuple(data["s1"].shape[-2:])} pixels')
        return data

    # ------------------------------------------------------------------
    # encoders
    # ------------------------------------------------------------------
    def _encode_series(
            self, name: str, x: torch.Tensor,
            mask: Optional[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Run a ViT on the real dates only -> levels ``(B, T, C, h, w)``.

        Padded dates are not encoded; their slots hold zeros.
        """
        backbone = getattr(self, f'backbone_{name}')
        b, t = x.shape[:2]
        if mask is None:
            levels = backbone(x.flatten(0, 1))
            return tuple(lvl.unflatten(0, (b, t)) for lvl in levels)
        mask = mask.to(x.device)
        levels = backbone(x[mask])
        out = []
        for lvl in levels:
            full = lvl.new_zeros((b, t) + tuple(lvl.shape[1:]))
            full[mask] = lvl
            out.append(full)
        return tuple(out)

    @staticmethod
    def _temporal_mean(x: torch.Tensor,
                       mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Mean of ``(B, T, C, h, w)`` over the real dates."""
        if mask is None:
            return x.mean(1)
        w = mask.to(x.dtype)[:, :, None, None, None]
        return (x * w).sum(1) / w.sum(1).clamp_min(1)

    def forward_features(self, inputs: Inputs) -> Dict[str, object]:
        """Every intermediate feature, e.g. for pre-training losses.

        Args:
            inputs (Tensor | dict): See the class docstring.

        Returns:
            dict: ``hr``: tuple of HR levels ``(B, C_i, H_i, W_i)``;
            ``s2`` / ``s1``: tuple of ViT levels ``(B, T, C, h, w)`` (zeros
            at padded dates) and ``s2_mask`` / ``s1_mask`` (or None);
            ``fused_mm``: ``F_fus^mm`` ``(B, d, h, w)`` when the fusion neck
            ran; ``fused``: ``F_fus`` ``(B, 2d, h, w)`` with geo-context,
            else the same as ``fused_mm``; ``region_idx``: ``(B,)`` regions
            when geo-context was used. Only the keys that apply are present.
        """
        data = self._parse_inputs(inputs)
        feats: Dict[str, object] = {}
        if 'hr' in data:
            feats['hr'] = tuple(self.backbone_hr(data['hr']))
        for m in _SERIES:
            if m in data:
                feats[m] = self._encode_series(m, data[m],
                                               data.get(m + '_mask'))
                feats[m + '_mask'] = data.get(m + '_mask')
        if not self.with_fusion:
            return feats
        neck_in = dict(hr=feats['hr'][-1] if 'hr' in feats else None,
                       hr_doy=data.get('hr_doy'))
        for m in _SERIES:
            if m in feats:
                neck_in.update({
                    m: feats[m][-1],
                    m + '_doy': data.get(m + '_doy'),
                    m + '_mask': data.get(m + '_mask')
                })
        fused = self.fusion_neck(**neck_in)
        feats['fused_mm'] = fused
        if self.with_geo:
            if 'latlon' not in data and 'region_idx' not in data:
                raise ValueError('this model has geo_prototypes: give '
                                 '`latlon` (B, 2) or `region_idx` (B,)')
            region = data.get('region_idx')
            if region is None:
                region = self.geo_prototypes.region_index(data['latlon'])
            feats['region_idx'] = region
            fused = self.geo_prototypes(fused, region_idx=region)
        feats['fused'] = fused
        return feats

    def forward(self, inputs: Inputs) -> Tuple[torch.Tensor, ...]:
        """Multi-scale maps for dense heads; see the class docstring.

        Args:
            inputs (Tensor | dict): See the class docstring.

        Returns:
            tuple[Tensor]: The output maps.
        """
        feats = self.forward_features(inputs)
        fused = feats.get('fused')
        if 'hr' in feats:
            outs = list(feats['hr'])
            if fused is not None:
                if self.fused_output == 'append':
                    outs.append(fused)
                else:
                    outs[-1] = fused
            return tuple(outs)
        if fused is not None:
            return (fused, )
        m = next(m for m in _SERIES if m in feats)
        return tuple(
            self._temporal_mean(lvl, feats[m + '_mask']) for lvl in feats[m])

    # ------------------------------------------------------------------
    # granularities
    # ------------------------------------------------------------------
    def extract_features(self,
                         inputs: Inputs,
                         granularity: Union[str, Sequence[str]] = 'pixel',
                         object_masks: Optional[torch.Tensor] = None,
                         num_objects: int = 8) -> Dict[str, torch.Tensor]:
        """Features at pixel / object / image granularity.

        See the class docstring for what each granularity is.

        Args:
            inputs (Tensor | dict): See the class docstring.
            granularity (str | Sequence[str]): Any of ``'pixel'``,
                ``'object'``, ``'image'``. Defaults to ``'pixel'``.
            object_masks (Tensor, optional): ``(B, K, H, W)`` object masks
                (bool or weights in [0, 1]); None: cluster the pixels.
            num_objects (int): Clusters per image without masks.
                Defaults to 8.

        Returns:
            dict[str, Tensor]: ``pixel`` ``(B, C, h, w)``, ``object``
            ``(B, K, C)``, ``image`` ``(B, C)``, for the requested ones.
        """
        wanted = [granularity] if isinstance(granularity,
                                             str) else list(granularity)
        bad = [g for g in wanted if g not in _GRANULARITIES]
        if bad or not wanted:
            raise ValueError(f'granularity must be among {_GRANULARITIES}, '
                             f'got {granularity!r}')
        feats = self.forward_features(inputs)
        if 'fused' in feats:
            pixel = feats['fused']
        elif 'hr' in feats:
            pixel = feats['hr'][-1]
        else:
            m = next(m for m in _SERIES if m in feats)
            pixel = self._temporal_mean(feats[m][-1], feats[m + '_mask'])
        out = {}
        if 'pixel' in wanted:
            out['pixel'] = pixel
        if 'image' in wanted:
            out['image'] = pixel.mean((2, 3))
        if 'object' in wanted:
            out['object'] = self._object_features(pixel, object_masks,
                                                  num_objects)
        return out

    @staticmethod
    def _object_features(pixel: torch.Tensor, masks: Optional[torch.Tensor],
                         num_objects: int) -> torch.Tensor:
        b, c, h, w = pixel.shape
        flat = pixel.flatten(2).transpose(1, 2)  # B, hw, C
        if masks is None:
            centres, _ = sinkhorn_cluster(flat, num_objects)
            return centres
        if masks.dim() != 4 or masks.shape[0] != b:
            raise ValueError(f'object_masks must be (B={b}, K, H, W), got '
                             f'{tuple(masks.shape)}')
        weights = F.interpolate(masks.to(pixel.dtype),
                                size=(h, w),
                                mode='area').flatten(2)
        mass = weights.sum(-1, keepdim=True)
        if (mass <= 0).any():
            raise ValueError('object_masks: an object covers no pixel of the '
                             f'{h}x{w} feature grid')
        return (weights / mass) @ flat
