"""Tests of the geo-context prototypes and the Sinkhorn-Knopp helpers."""
import math

import pytest
import torch
import torch.nn.functional as F

from skysense_mm.models.necks import GeoContextPrototypes
from skysense_mm.models.necks.geo_prototypes import (latlon_to_region,
                                                     region_bounds)
from skysense_mm.models.utils import sinkhorn_cluster, sinkhorn_knopp
from skysense_mm.registry import MODELS


def _swav_sinkhorn(scores, epsilon=0.05, num_iters=3):
    """SwAV's reference implementation (Caron et al. 2020, Alg. 1)."""
    q = torch.exp(scores / epsilon).t()
    k, b = q.shape
    q /= q.sum()
    for _ in range(num_iters):
        q /= q.sum(dim=1, keepdim=True)
        q /= k
        q /= q.sum(dim=0, keepdim=True)
        q /= b
    return (q * b).t()


# ---------------------------------------------------------------- sinkhorn
def test_sinkhorn_matches_swav_and_marginals():
    torch.manual_seed(0)
    scores = torch.rand(50, 7) * 2 - 1
    s = sinkhorn_knopp(scores)
    torch.testing.assert_close(s, _swav_sinkhorn(scores), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(s.sum(1), torch.ones(50))
    converged = sinkhorn_knopp(scores, num_iters=200)
    torch.testing.assert_close(converged.sum(0),
                               torch.full((7, ), 50 / 7),
                               atol=1e-3,
                               rtol=0)
    # batched = one problem at a time; stable for large scores
    batch = torch.randn(3, 20, 5) * 100
    out = sinkhorn_knopp(batch)
    assert torch.isfinite(out).all()
    for i in range(3):
        torch.testing.assert_close(out[i], sinkhorn_knopp(batch[i]))


def test_sinkhorn_errors():
    with pytest.raises(ValueError, match='scores'):
        sinkhorn_knopp(torch.rand(5))
    with pytest.raises(ValueError, match='epsilon'):
        sinkhorn_knopp(torch.rand(5, 2), epsilon=0)
    with pytest.raises(ValueError, match='num_clusters'):
        sinkhorn_cluster(torch.rand(1, 4, 3), 5)


def test_sinkhorn_cluster_finds_separated_objects():
    torch.manual_seed(0)
    centres = torch.eye(4)[:2] * 10  # two objects
    labels = torch.arange(32) % 2
    feats = centres[labels] + 0.1 * torch.randn(32, 4)
    got, assign = sinkhorn_cluster(feats[None], 2)
    assert got.shape == (1, 2, 4) and assign.shape == (1, 32, 2)
    pred = assign[0].argmax(1)
    assert (pred == labels).all() or (pred == 1 - labels).all()
    means = torch.stack([feats[labels == i].mean(0) for i in range(2)])
    dist = torch.cdist(got[0], means)
    assert dist.min(1).values.max() < 0.1


# ------------------------------------------------------------------ regions
@pytest.mark.parametrize('equal_area', [True, False])
def test_region_partition_round_trip(equal_area):
    grid = (64, 64)
    regions = torch.arange(4096)
    centres = []
    for r in regions.tolist():
        lat0, lat1, lon0, lon1 = region_bounds(r, grid, equal_area)
        centres.append(((lat0 + lat1) / 2, (lon0 + lon1) / 2))
    got = latlon_to_region(torch.tensor(centres), grid, equal_area)
    assert torch.equal(got, regions)
    if equal_area:  # every region covers the same area of the sphere
        areas = []
        for r in (0, 100, 2047, 4095):
            lat0, lat1, lon0, lon1 = region_bounds(r, grid, True)
            areas.append(
                (math.sin(math.radians(lat1)) - math.sin(math.radians(lat0))) *
                math.radians(lon1 - lon0))
        assert max(areas) - min(areas) < 1e-12
        assert abs(areas[0] * 4096 - 4 * math.pi) < 1e-9


def test_region_edges():
    latlon = torch.tensor([[-90., -180.], [90., 180.], [90., 0.], [0., -180.],
                           [0., 180.], [-0.001, 0.]])
    idx = latlon_to_region(latlon, (64, 64), equal_area=True)
    assert idx.tolist() == [
        0, 63 * 64, 63 * 64 + 32, 32 * 64, 32 * 64, 31 * 64 + 32
    ]
    # uniform rows: a band of 180/64 degrees
    idx = latlon_to_region(torch.tensor([[-87.2, 0.], [-87.1, 0.]]), (64, 64),
                           equal_area=False)
    assert idx.tolist() == [32, 64 + 32]


@pytest.mark.parametrize('latlon,match', [
    ([[91., 0.]], 'latitude'),
    ([[-90.5, 0.]], 'latitude'),
    ([[0., 180.5]], 'longitude'),
    ([[0., -181.]], 'longitude'),
    ([[float('nan'), 0.]], 'NaN'),
    ([[0., 0., 0.]], r'\(B, 2\)'),
])
def test_region_errors(latlon, match):
    with pytest.raises(ValueError, match=match):
        latlon_to_region(torch.tensor(latlon))


# --------------------------------------------------------------- prototypes
def _geo(**kwargs):
    cfg = dict(num_regions=16, num_prototypes=5, embed_dims=8)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return GeoContextPrototypes(**cfg)


def test_prototypes_are_a_frozen_buffer():
    geo = MODELS.build(
        dict(type='skysense_mm.GeoContextPrototypes',
             num_regions=16,
             num_prototypes=5,
             embed_dims=8))
    assert list(geo.parameters()) == []
    assert 'prototypes' in geo.state_dict()
    assert geo.prototypes.shape == (16, 5, 8)
    assert not geo.prototypes.requires_grad
    with pytest.raises(ValueError, match='perfect square'):
        GeoContextPrototypes(num_regions=10)
    assert GeoContextPrototypes(num_regions=8, embed_dims=4,
                                grid_shape=(2, 4)).grid_shape == (2, 4)


def test_forward_is_eq3_and_grad_reaches_features_only():
    geo = _geo()
    feats = torch.randn(2, 8, 3, 3, requires_grad=True)
    latlon = torch.tensor([[48.1, 11.6], [-33.9, 151.2]])
    out = geo(feats, latlon=latlon)
    assert out.shape == (2, 16, 3, 3)
    torch.testing.assert_close(out[:, :8], feats)
    region = geo.region_index(latlon)
    for i in range(2):
        q = feats[i].flatten(1).T  # hw, d
        p = geo.prototypes[region[i]]
        want = torch.softmax(q @ p.T / math.sqrt(8), -1) @ p
        torch.testing.assert_close(out[i, 8:].flatten(1).T, want)
    torch.testing.assert_close(out, geo(feats, region_idx=region))
    before = geo.prototypes.clone()
    out[:, 8:].sum().backward()
    assert feats.grad is not None and feats.grad.abs().sum() > 0
    assert geo.prototypes.grad is None
    assert torch.equal(geo.prototypes, before)


@pytest.mark.parametrize('kwargs,match', [
    (dict(), 'exactly one'),
    (dict(latlon=torch.zeros(2, 2), region_idx=torch.zeros(2)), 'exactly one'),
    (dict(region_idx=torch.tensor([0, 16])), r'\[0, 16\)'),
    (dict(region_idx=torch.tensor([0])), 'one region per sample'),
    (dict(latlon=torch.tensor([[0., 200.], [0., 0.]])), 'longitude'),
])
def test_forward_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _geo()(torch.randn(2, 8, 2, 2), **kwargs)


def test_update_is_sinkhorn_ema():
    geo = _geo(num_prototypes=2, embed_dims=4)
    torch.manual_seed(1)
    centres = torch.eye(4)[:2] * 5
    labels = torch.arange(18) % 2
    feats = (centres[labels] + 0.05 * torch.randn(18, 4))
    feats = feats.T.reshape(1, 4, 3, 6).repeat(2, 1, 1, 1)  # 2 samples
    region = torch.tensor([3, 3])
    others = geo.prototypes.clone()
    old = geo.prototypes[3].clone()
    # Eq. 11-13 by hand
    flat = feats.flatten(2).transpose(1, 2).reshape(-1, 4)
    sim = F.normalize(flat, dim=-1) @ F.normalize(old, dim=-1).T
    s = _swav_sinkhorn(sim)
    s = s / s.sum(0, keepdim=True)
    want = 0.9 * old + 0.1 * (s.T @ flat)
    geo.update(feats, region, momentum=0.9)
    torch.testing.assert_close(geo.prototypes[3], want, atol=1e-5, rtol=1e-4)
    keep = torch.arange(16) != 3
    assert torch.equal(geo.prototypes[keep], others[keep])
    # momentum 0 repeatedly: the prototypes become the two object means
    for _ in range(3):
        geo.update(feats, region, momentum=0.)
    means = torch.stack(
        [flat[labels.repeat(2) == i].mean(0) for i in range(2)])
    dist = torch.cdist(geo.prototypes[3], means)
    assert dist.min(1).values.max() < 0.05
    assert not geo.prototypes.requires_grad
    with pytest.raises(ValueError, match='momentum'):
        geo.update(feats, region, momentum=1.0)
