"""Geo-context prototypes of SkySense (Attentional Geo-Context Integration).

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.2 Eq. 3 and §3.3
Eq. 11-13.

The globe is divided into ``N_R = rows x cols`` regions (the paper: 4096;
here 64 x 64 by default). The partition is a grid in longitude and
**sine of latitude** by default (``equal_area=True``): columns are
``360 / cols`` degrees of longitude wide, and rows are bounded by the
latitudes ``asin(-1 + 2 i / rows)``, so every region covers exactly the same
area of the sphere (``4 pi R^2 / N_R``, about 124,500 km^2 for 4096 regions;
Lambert's cylindrical equal-area projection cut into a regular grid). With
``equal_area=False`` the rows are ``180 / rows`` degrees of latitude
instead (a plain lat/lon grid, with small regions near the poles). The
paper does not say how it divided the globe.

Region indices run row-major from the south-west corner:
``region = row * cols + col`` with row 0 the southernmost band (starting at
-90 deg) and column 0 starting at longitude -180 deg. Latitude +90 belongs
to the northernmost row and longitude +180 is the same meridian as -180
(column 0).
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from skysense_mm.registry import MODELS
from ..utils.sinkhorn import sinkhorn_knopp

__all__ = ['GeoContextPrototypes', 'latlon_to_region', 'region_bounds']


def _check_grid(grid_shape: Sequence[int]) -> Tuple[int, int]:
    if len(grid_shape) != 2 or min(grid_shape) < 1:
        raise ValueError(
            f'grid_shape must be (rows, cols) >= 1, got {grid_shape}')
    return int(grid_shape[0]), int(grid_shape[1])


def latlon_to_region(latlon: torch.Tensor,
                     grid_shape: Sequence[int] = (64, 64),
                     equal_area: bool = True) -> torch.Tensor:
    """Region index of each (lat, lon) pair, see the module docstring.

    Args:
        latlon (Tensor): ``(B, 2)`` latitude and longitude in degrees,
            latitude in [-90, 90], longitude in [-180, 180].
        grid_shape (Sequence[int]): ``(rows, cols)``. Defaults to (64, 64).
        equal_area (bool): Rows equally spaced in sin(latitude) (equal-area
            regions) instead of in latitude. Defaults to True.

    Returns:
        Tensor: ``(B,)`` long region indices in ``[0, rows * cols)``.
    """
    rows, cols = _check_grid(grid_shape)
    if not isinstance(latlon, torch.Tensor):
        raise TypeError(f'latlon must be a Tensor, got {type(latlon)}')
    if latlon.dim() != 2 or latlon.shape[1] != 2:
        raise ValueError('latlon must have shape (B, 2) = (lat, lon) in '
                         f'degrees, got {tuple(latlon.shape)}')
    lat, lon = latlon.double().unbind(1)
    if torch.isnan(latlon).any():
        raise ValueError('latlon contains NaN')
    if ((lat < -90) | (lat > 90)).any():
        raise ValueError('latlon: latitude (column 0) must be in [-90, 90], '
                         f'got {lat.tolist()}')
    if ((lon < -180) | (lon > 180)).any():
        raise ValueError('latlon: longitude (column 1) must be in '
                         f'[-180, 180], got {lon.tolist()}')
    if equal_area:
        frac = (torch.sin(torch.deg2rad(lat)) + 1) / 2
    else:
        frac = (lat + 90) / 180
    row = (frac * rows).floor().long().clamp_(0, rows - 1)
    col = ((lon + 180) / 360 * cols).floor().long() % cols
    return row * cols + col


def region_bounds(
        region: int,
        grid_shape: Sequence[int] = (64, 64),
        equal_area: bool = True) -> Tuple[float, float, float, float]:
    """Bounds of one region in degrees.

    Args:
        region (int): Region index (see :func:`latlon_to_region`).
        grid_shape (Sequence[int]): ``(rows, cols)``. Defaults to (64, 64).
        equal_area (bool): See :func:`latlon_to_region`. Defaults to True.

    Returns:
        tuple[float, float, float, float]: ``(lat_min, lat_max, lon_min,
        lon_max)``.
    """
    rows, cols = _check_grid(grid_shape)
    if not 0 <= region < rows * cols:
        raise ValueError(f'region must be in [0, {rows * cols}), got {region}')
    row, col = divmod(int(region), cols)

    def edge(i):
        if equal_area:
            return math.degrees(
                math.asin(max(-1.0, min(1.0, -1 + 2 * i / rows))))
        return -90 + 180 * i / rows

    return (edge(row), edge(row + 1), -180 + 360 * col / cols,
            -180 + 360 * (col + 1) / cols)


@MODELS.register_module()
class GeoContextPrototypes(BaseModule):
    """Region-specific prototype set and its attention (Eq. 3).

    Holds ``prototypes`` of shape ``(N_R, N_p, d)`` as a **buffer** (saved in
    the state dict, never a parameter, never given a gradient). The forward
    pass picks ``P_r`` of each sample's region and returns
    ``Concat[F, Softmax(F P_r^T / sqrt(d)) P_r]`` per pixel, i.e. ``2d``
    channels; gradients flow to ``F`` only. :meth:`update` is the no-grad
    prototype learning of pre-training (Eq. 11-13).

    Args:
        num_regions (int): ``N_R``. Defaults to 4096 (the paper).
        num_prototypes (int): ``N_p`` per region. Defaults to 100.
        embed_dims (int): ``d``, channels of ``F_fus^mm``. Defaults to 1024.
        grid_shape (Sequence[int], optional): ``(rows, cols)`` with
            ``rows * cols == num_regions``. Defaults to None: a square grid
            (``num_regions`` must then be a perfect square).
        equal_area (bool): Equal-area rows (see the module docstring).
            Defaults to True.
        init_std (float): Std of the normal initialisation of the
            prototypes. Defaults to 0.02.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 num_regions: int = 4096,
                 num_prototypes: int = 100,
                 embed_dims: int = 1024,
                 grid_shape: Optional[Sequence[int]] = None,
                 equal_area: bool = True,
                 init_std: float = 0.02,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if grid_shape is None:
            side = math.isqrt(num_regions)
            if side * side != num_regions:
                raise ValueError(
                    f'num_regions={num_regions} is not a perfect square; '
                    'give grid_shape=(rows, cols) explicitly')
            grid_shape = (side, side)
        self.grid_shape = _check_grid(grid_shape)
        if self.grid_shape[0] * self.grid_shape[1] != num_regions:
            raise ValueError(f'grid_shape {tuple(grid_shape)} does not have '
                             f'num_regions={num_regions} cells')
        if num_prototypes < 1 or embed_dims < 1:
            raise ValueError('num_prototypes and embed_dims must be >= 1')
        self.num_regions = num_regions
        self.num_prototypes = num_prototypes
        self.embed_dims = embed_dims
        self.equal_area = equal_area
        self.register_buffer(
            'prototypes',
            torch.empty(num_regions, num_prototypes,
                        embed_dims).normal_(std=init_std))

    def region_index(self, latlon: torch.Tensor) -> torch.Tensor:
        """Region of each sample; see :func:`latlon_to_region`."""
        return latlon_to_region(latlon, self.grid_shape,
                                self.equal_area).to(self.prototypes.device)

    def _regions(self, latlon: Optional[torch.Tensor],
                 region_idx: Optional[torch.Tensor], batch: int):
        if (latlon is None) == (region_idx is None):
            raise ValueError('GeoContextPrototypes needs exactly one of '
                             '`latlon` (B, 2) and `region_idx` (B,)')
        if latlon is not None:
            region_idx = self.region_index(latlon)
        region_idx = torch.as_tensor(region_idx, device=self.prototypes.device)
        if region_idx.shape != (batch, ):
            raise ValueError(f'region_idx/latlon must give one region per '
                             f'sample ({batch}), got shape '
                             f'{tuple(region_idx.shape)}')
        if region_idx.dtype.is_floating_point or (
                region_idx.numel() and
            (region_idx.min() < 0 or region_idx.max() >= self.num_regions)):
            raise ValueError(f'region_idx must be integers in [0, '
                             f'{self.num_regions}), got {region_idx.tolist()}')
        return region_idx.long()

    @staticmethod
    def _flatten(features: torch.Tensor) -> torch.Tensor:
        """``(B, d, h, w)`` -> ``(B, h*w, d)``; ``(B, N, d)`` unchanged."""
        if features.dim() == 4:
            return features.flatten(2).transpose(1, 2)
        if features.dim() == 3:
            return features
        raise ValueError('features must be (B, d, h, w) or (B, N, d), got '
                         f'{tuple(features.shape)}')

    def forward(self,
                features: torch.Tensor,
                latlon: Optional[torch.Tensor] = None,
                region_idx: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Eq. 3: concatenate each pixel with its prototype read-out.

        Args:
            features (Tensor): ``F_fus^mm`` of shape ``(B, d, h, w)``.
            latlon (Tensor, optional): ``(B, 2)`` (lat, lon) in degrees.
            region_idx (Tensor, optional): ``(B,)`` region indices, instead
                of ``latlon``.

        Returns:
            Tensor: ``F_fus`` of shape ``(B, 2d, h, w)``.
        """
        if features.dim() != 4 or features.shape[1] != self.embed_dims:
            raise ValueError(f'features must be (B, {self.embed_dims}, h, w),'
                             f' got {tuple(features.shape)}')
        b, d, h, w = features.shape
        region_idx = self._regions(latlon, region_idx, b)
        protos = self.prototypes[region_idx].to(features.dtype)  # B, Np, d
        query = self._flatten(features)  # B, hw, d
        # one head of width d: scale 1/sqrt(d) as in Eq. 3
        context = F.scaled_dot_product_attention(query, protos, protos)
        context = context.transpose(1, 2).reshape(b, d, h, w)
        return torch.cat([features, context], dim=1)

    @torch.no_grad()
    def update(self,
               features: torch.Tensor,
               region_idx: torch.Tensor,
               momentum: float = 0.99,
               epsilon: float = 0.05,
               num_iters: int = 3) -> None:
        """Geo-context prototype learning, Eq. 11-13 (no gradient).

        For every region ``r`` present in the batch, the pixel features of
        all its samples are pooled, ``M`` = cosine similarity to ``P_r``
        (Eq. 11), ``S = sinkhorn_knopp(M)``, ``P_bar = S^T F`` with ``S``
        normalised per prototype so that ``P_bar`` is an assignment-weighted
        mean in feature space (Eq. 12), and
        ``P_r <- m P_r + (1 - m) P_bar`` (Eq. 13).

        The update uses exactly the batch it is given. Under data-parallel
        training pass the features and regions of all ranks (all-gathered,
        as ``SkySensePretrain`` does), so that every rank applies the same
        update and the prototypes stay identical across ranks.

        Args:
            features (Tensor): ``F_fus^mm``, ``(B, d, h, w)`` or ``(B, N, d)``.
            region_idx (Tensor): ``(B,)`` region of each sample (see
                :meth:`region_index`).
            momentum (float): ``m`` in [0, 1). Defaults to 0.99.
            epsilon (float): Sinkhorn regularisation. Defaults to 0.05.
            num_iters (int): Sinkhorn rounds. Defaults to 3.
        """
        if not 0 <= momentum < 1:
            raise ValueError(f'momentum must be in [0, 1), got {momentum}')
        feats = self._flatten(features.detach()).float()
        if feats.shape[-1] != self.embed_dims:
            raise ValueError(f'features must have {self.embed_dims} '
                             f'channels, got {tuple(features.shape)}')
        region_idx = self._regions(None, region_idx, feats.shape[0])
        for r in torch.unique(region_idx).tolist():
            f_r = feats[region_idx == r].reshape(-1, self.embed_dims)
            p_r = self.prototypes[r].float()
            sim = F.normalize(f_r, dim=-1) @ F.normalize(p_r, dim=-1).T
            assign = sinkhorn_knopp(sim, epsilon, num_iters)  # N, Np
            assign = assign / assign.sum(0, keepdim=True).clamp_min(1e-12)
            p_bar = assign.T @ f_r
            self.prototypes[r] = (momentum * p_r + (1 - momentum) * p_bar).to(
                self.prototypes.dtype)
