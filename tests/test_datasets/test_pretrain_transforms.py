"""Tests of the SkySense pre-training augmentations
(skysense_mm/datasets/transforms/pretrain_transforms.py)."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement

from skysense_mm.datasets.transforms import (
    DateJitter, HRViewColorJitter, HRViewGaussianBlur, HRViewSolarize,
    MultiViewCrop, PackSkySensePretrainInputs, RandomSubsequence,
    RandomViewFlipRotate, correspondence_to_grid, view_correspondence,
    wrap_doy)
from skysense_mm.datasets import PretrainSampleError
from skysense_mm.datasets.transforms.pretrain_transforms import _flip_rot
from skysense_mm.registry import TRANSFORMS

H = 256  # HR pixels; S2 / S1 8x8


def make_sample(t_s2=6, t_s1=5, with_s1=True, seed=0):
    """Loaded sample (contract 1) with coordinate patterns.

    HR: channel 0 = column, 1 = row, 2 = 200. S2 / S1: band 0 = column,
    band 1 = row (S2 pixel units), band 2 = 10 * date index, rest random;
    S1 band 1 = row + 100 * date index.
    """
    rng = np.random.RandomState(seed)
    rows, cols = np.mgrid[0:H, 0:H].astype(np.float32)
    hr = np.stack([cols, rows, np.full_like(rows, 200)], axis=-1)
    h = H // 32

    def series(t, c):
        data = rng.uniform(0, 1000, (t, c, h, h)).astype(np.float32)
        r, q = np.mgrid[0:h, 0:h].astype(np.float32)
        data[:, 0] = q
        data[:, 1] = r
        dates = np.arange(t, dtype=np.float32)[:, None, None]
        if c > 2:
            data[:, 2] = 10 * dates
        else:  # S1 (2 bands): the date rides on the row ramp
            data[:, 1] += 100 * dates
        return data

    sample = dict(sample_id='tile_0007',
                  latlon=np.array([45.5, 9.25]),
                  hr=hr,
                  hr_doy=None,
                  s2=series(t_s2, 10),
                  s2_valid=np.ones((t_s2, h, h), bool),
                  s2_doy=np.linspace(10, 350, t_s2).astype(np.int64),
                  s2_dates=[f'2021-01-{i + 1:02d}' for i in range(t_s2)])
    if with_s1:
        sample.update(s1=series(t_s1, 2),
                      s1_valid=np.ones((t_s1, h, h), bool),
                      s1_doy=np.linspace(5, 360, t_s1).astype(np.int64),
                      s1_dates=[f'2021-02-{i + 1:02d}' for i in range(t_s1)])
    return sample


def pipeline(num_local=3, length=4, **crop_kw):
    crop = dict(global_size=128, local_size=64, num_local=num_local)
    crop.update(crop_kw)
    return [
        MultiViewCrop(**crop),
        RandomViewFlipRotate(),
        HRViewColorJitter(),
        HRViewGaussianBlur(),
        HRViewSolarize(),
        RandomSubsequence(length=length),
        DateJitter(max_days=5),
        PackSkySensePretrainInputs(),
    ]


def run(transforms, results):
    for t in transforms:
        results = t(results)
    return results


def test_packed_sample_shapes_and_dtypes():
    np.random.seed(0)
    out = run(pipeline(), make_sample())
    assert set(out) == {'inputs', 'data_samples'}
    inputs, ds = out['inputs'], out['data_samples']
    assert set(inputs) == {
        'hr', 's2', 's2_doy', 's2_mask', 's1', 's1_doy', 's1_mask', 'latlon'
    }
    assert len(inputs['hr']) == 5
    for v, img in enumerate(inputs['hr']):
        size = 128 if v < 2 else 64
        assert img.dtype == torch.float32 and img.shape == (3, size, size)
    for m, c in (('s2', 10), ('s1', 2)):
        assert len(inputs[m]) == len(inputs[f'{m}_doy']) == 2
        for x, d, k in zip(inputs[m], inputs[f'{m}_doy'], inputs[f'{m}_mask']):
            assert x.dtype == torch.float32 and x.shape == (4, c, 4, 4)
            assert d.dtype == torch.int64 and d.shape == (4, )
            assert k.dtype == torch.bool and k.shape == (4, ) and k.all()
    assert inputs['latlon'].dtype == torch.float32
    assert torch.equal(inputs['latlon'], torch.tensor([45.5, 9.25]))
    assert isinstance(ds, BaseDataElement)
    assert ds.view_boxes.dtype == np.float32 and ds.view_boxes.shape == (5, 4)
    assert ds.view_flips.dtype == bool and ds.view_flips.shape == (5, )
    assert ds.view_rot90.dtype == np.int64 and ds.view_rot90.shape == (5, )
    assert set(ds.view_rot90.tolist()) <= {0, 1, 2, 3}
    assert ds.sample_id == 'tile_0007'
    np.testing.assert_array_equal(ds.latlon, [45.5, 9.25])
    # global boxes on the 32-px grid, all boxes inside the image
    assert (ds.view_boxes[:2] % 32 == 0).all()
    assert (ds.view_boxes[:, :2] >= 0).all() and (ds.view_boxes[:, 2:]
                                                  <= H).all()
    assert (ds.view_boxes[:, 2:] > ds.view_boxes[:, :2]).all()


def test_registered_and_no_s1():
    crop = TRANSFORMS.build(
        dict(type='MultiViewCrop', global_size=64, local_size=32, num_local=1))
    pack = TRANSFORMS.build(
        dict(type='skysense_mm.PackSkySensePretrainInputs'))
    np.random.seed(1)
    out = pack(crop(make_sample(with_s1=False)))
    assert 's1' not in out['inputs'] and 's1_mask' not in out['inputs']
    # without RandomSubsequence: the whole series, all dates real
    assert out['inputs']['s2'][0].shape == (6, 10, 2, 2)
    assert out['inputs']['s2_mask'][0].all()
    assert torch.equal(out['inputs']['s2_doy'][1],
                       torch.from_numpy(make_sample()['s2_doy']))


def _ground(box, flip, rot, out_hw, ref_hw):
    """Expected (row, col) of each view pixel in the reference frame."""
    coords, valid = view_correspondence(box, flip, rot, [0, 0, H, H], False, 0,
                                        out_hw, ref_hw)
    assert valid.all()
    return coords.numpy()


@pytest.mark.parametrize('seed', range(6))
def test_pixels_follow_boxes_flips_rot90(seed):
    np.random.seed(seed)
    transforms = [
        MultiViewCrop(global_size=128, local_size=64, num_local=3),
        RandomViewFlipRotate(),
        RandomViewFlipRotate(),  # composed into one (flip, rot90)
    ]
    res = run(transforms, make_sample())
    for v, img in enumerate(res['hr_views']):
        args = (res['view_boxes'][v], res['view_flips'][v],
                res['view_rot90'][v])
        exp = _ground(*args, img.shape[:2], (H, H))
        # linear ramps survive area / bilinear resampling up to the edge
        np.testing.assert_allclose(img[..., 0], exp[..., 1], atol=0.51)
        np.testing.assert_allclose(img[..., 1], exp[..., 0], atol=0.51)
        if v < 2:
            for m in ('s2', 's1'):
                s = res[f'{m}_views'][v]
                exp = _ground(*args, s.shape[-2:], (H // 32, H // 32))
                for t in range(s.shape[0]):
                    np.testing.assert_allclose(s[t, 0], exp[..., 1], atol=0.51)
                    off = 100 * t if m == 's1' else 0
                    np.testing.assert_allclose(s[t, 1] - off,
                                               exp[..., 0],
                                               atol=0.51)
                    if m == 's2':
                        np.testing.assert_allclose(s[t, 2], 10 * t, atol=1e-3)
                assert res[f'{m}_valid_views'][v].all()


def test_series_crop_exact_without_resampling():
    """Box / 32 == out / 32: the S2 view is the exact S2 crop."""
    np.random.seed(3)
    sample = make_sample()
    res = run([
        MultiViewCrop(global_size=128,
                      num_local=0,
                      global_scale=(0.25, 0.25),
                      ratio=(1, 1)),
        RandomViewFlipRotate(flip_prob=1.0, rot90_choices=(1, ))
    ], sample)
    for v in range(2):
        x1, y1, x2, y2 = (res['view_boxes'][v] // 32).astype(int)
        assert (x2 - x1, y2 - y1) == (4, 4)
        crop = sample['s2'][..., y1:y2, x1:x2]
        np.testing.assert_array_equal(
            res['s2_views'][v], np.rot90(crop[..., ::-1], 1, axes=(-2, -1)))
        assert res['view_flips'][v] and res['view_rot90'][v] == 1


def test_invalid_pixels_are_kept_out_of_resampling():
    np.random.seed(0)
    sample = make_sample()
    sample['s2_valid'][:, :, :4] = False  # left half of S2 invalid
    sample['s2'][:, :, :, :4] = 0
    res = MultiViewCrop(global_size=128,
                        num_local=0,
                        global_scale=(1, 1),
                        ratio=(1, 1))(sample)  # 8x8 -> 4x4
    valid = res['s2_valid_views'][0]
    assert (~valid[:, :, :2]).all() and valid[:, :, 2:].all()
    s2 = res['s2_views'][0]
    assert (s2[:, :, :, :2] == 0).all()
    # valid outputs average valid pixels only (no 0 bleeding in): columns
    # 4..7 -> 2 outputs centred at 4.5 and 6.5 (antialias footprint clipped)
    assert (s2[:, 0, :, 2:] >= 4).all()


def test_photometric_only_touches_hr():
    np.random.seed(0)
    res = MultiViewCrop(global_size=128, local_size=64,
                        num_local=2)(make_sample())
    hr = [v.copy() for v in res['hr_views']]
    s2 = [v.copy() for v in res['s2_views']]
    s1 = [v.copy() for v in res['s1_views']]
    res = HRViewSolarize(prob=1.0, thr=128)(res)
    for a, b in zip(hr, res['hr_views']):
        np.testing.assert_array_equal(b, np.where(a < 128, a, 255 - a))
    hr = [v.copy() for v in res['hr_views']]
    res = HRViewGaussianBlur(prob=1.0, sigma=(1.0, 1.0))(res)
    for a, b in zip(hr, res['hr_views']):
        assert b.dtype == np.float32 and b.shape == a.shape
        assert np.abs(a - b).max() > 1
    res = HRViewColorJitter(prob=1.0, gray_prob=1.0)(res)
    for b in res['hr_views']:  # grayscale: 3 equal channels
        np.testing.assert_allclose(b[..., 0], b[..., 2], atol=1e-4)
    for m, before in (('s2', s2), ('s1', s1)):
        for a, b in zip(before, res[f'{m}_views']):
            np.testing.assert_array_equal(a, b)
    # per-view probabilities (global_1, global_2, local)
    np.random.seed(0)
    res = MultiViewCrop(global_size=128, local_size=64,
                        num_local=2)(make_sample())
    hr = [v.copy() for v in res['hr_views']]
    res = HRViewSolarize(prob=(0.0, 1.0, 0.0))(res)
    assert [not np.array_equal(a, b) for a, b in zip(hr, res['hr_views'])
            ] == [False, True, False, False]


def test_random_subsequence_lengths_and_masks():
    np.random.seed(0)
    sample = make_sample(t_s2=6, t_s1=3)
    res = MultiViewCrop(global_size=128, num_local=0)(sample)
    res = RandomSubsequence(length=4)(res)
    differ = False
    for v in range(2):
        idx = res['s2_time_index_views'][v]
        assert len(idx) == 4 and (np.diff(idx) > 0).all()
        np.testing.assert_array_equal(res['s2_doy_views'][v],
                                      sample['s2_doy'][idx])
        np.testing.assert_allclose(res['s2_views'][v][:, 2, 0, 0],
                                   10 * idx,
                                   atol=1e-3)
        assert res['s2_mask_views'][v].all()
        # S1 has 3 dates < 4: padded, flagged, never repeated
        np.testing.assert_array_equal(res['s1_mask_views'][v],
                                      [True, True, True, False])
        np.testing.assert_array_equal(res['s1_time_index_views'][v],
                                      [0, 1, 2, -1])
        assert (res['s1_views'][v][3] == 0).all()
        assert not res['s1_valid_views'][v][3].any()
        assert res['s1_doy_views'][v][3] == 1
    for seed in range(10):  # the two global views draw independently
        np.random.seed(seed)
        r = RandomSubsequence(length=4)(MultiViewCrop(global_size=128,
                                                      num_local=0)(
                                                          make_sample()))
        differ |= not np.array_equal(r['s2_time_index_views'][0],
                                     r['s2_time_index_views'][1])
    assert differ
    out = PackSkySensePretrainInputs()(res)
    assert out['inputs']['s1'][0].shape == (4, 2, 4, 4)
    assert out['inputs']['s1_mask'][1].tolist() == [True, True, True, False]


def test_random_subsequence_policies():
    np.random.seed(0)
    res = MultiViewCrop(global_size=128, num_local=0)(make_sample(t_s2=6,
                                                                  t_s1=3))
    with pytest.raises(PretrainSampleError, match="field 's1'"):
        RandomSubsequence(length=4, short_policy='error')(dict(res))
    rep = RandomSubsequence(length=5,
                            short_policy='repeat',
                            modalities=('s1', ))(dict(res))
    idx = rep['s1_time_index_views'][0]
    assert len(idx) == 5 and rep['s1_mask_views'][0].all()
    assert set(idx.tolist()) <= {0, 1, 2}
    with pytest.raises(ValueError, match='short_policy'):
        RandomSubsequence(length=4, short_policy='loop')
    # fully clouded dates are not usable with min_valid_frac
    sample = make_sample(t_s2=6)
    sample['s2_valid'][[1, 4]] = False
    np.random.seed(0)
    res = MultiViewCrop(global_size=128, num_local=0)(sample)
    res = RandomSubsequence(length=4, min_valid_frac=0.0)(res)
    for v in range(2):
        np.testing.assert_array_equal(res['s2_time_index_views'][v],
                                      [0, 2, 3, 5])


def test_date_jitter_wraps_in_range():
    assert wrap_doy(np.array([0, 1, 365, 366, -5,
                              370])).tolist() == [365, 1, 365, 1, 360, 5]
    jitter = DateJitter(max_days=10)
    doy = np.array([1, 2, 180, 365, 366, 1])
    mask = np.array([True, True, True, True, True, False])
    for seed in range(50):
        np.random.seed(seed)
        res = jitter(
            dict(hr_views=[],
                 s2_doy_views=[doy.copy()],
                 s2_mask_views=[mask.copy()]))
        out = res['s2_doy_views'][0]
        assert out.dtype == np.int64
        assert ((out >= 1) & (out <= 366)).all()
        assert out[5] == 1  # padding untouched
        # circular distance (366 read as 365) at most max_days
        base = np.minimum(doy, 365)
        dist = np.abs(out - base) % 365
        assert (np.minimum(dist, 365 - dist)[:5] <= 10).all()
    res = DateJitter(max_days=0)(dict(s2_doy=np.array([3, 366])))
    assert res['s2_doy'].tolist() == [3, 365]


def test_determinism_under_fixed_seed():

    def once(seed):
        np.random.seed(seed)
        return run(pipeline(), make_sample())

    a, b, c = once(7), once(7), once(8)
    for key in ('view_boxes', 'view_flips', 'view_rot90'):
        np.testing.assert_array_equal(a['data_samples'].metainfo[key],
                                      b['data_samples'].metainfo[key])
    for key, vals in a['inputs'].items():
        if isinstance(vals, list):
            for x, y in zip(vals, b['inputs'][key]):
                assert torch.equal(x, y), key
    assert not np.array_equal(a['data_samples'].view_boxes,
                              c['data_samples'].view_boxes)


def _raises_field(field, fn, *args, match=None):
    """The per-sample error names the sample and the field."""
    with pytest.raises(PretrainSampleError) as info:
        fn(*args)
    assert info.value.field == field
    assert 'tile_0007' in str(info.value) and f"field '{field}'" in str(
        info.value)
    if match:
        assert match in str(info.value), str(info.value)
    return info.value


def test_bad_input_errors():
    sample = make_sample()
    del sample['hr']
    sample['sample_dir'] = '/data/pretrain/tile_0007'
    err = _raises_field('hr', MultiViewCrop(global_size=64), sample)
    assert err.path == '/data/pretrain/tile_0007'  # names the folder
    sample = make_sample()
    sample['s2'] = sample['s2'][..., :7, :]
    _raises_field('s2', MultiViewCrop(global_size=64), sample)
    sample = make_sample()
    del sample['s1_valid']
    _raises_field('s1_valid', MultiViewCrop(global_size=64), sample)
    sample = make_sample()
    sample['s2_doy'] = sample['s2_doy'][:3]
    res = MultiViewCrop(global_size=64, num_local=0)(sample)
    _raises_field('s2_doy', RandomSubsequence(length=2), res)
    res = MultiViewCrop(global_size=64, num_local=0)(make_sample(t_s1=3))
    _raises_field('s1',
                  RandomSubsequence(length=4, short_policy='error'),
                  res,
                  match='3 usable dates, fewer than length=4')
    res = MultiViewCrop(global_size=64, num_local=0)(make_sample())
    del res['latlon']
    _raises_field('latlon', PackSkySensePretrainInputs(), res)
    res = MultiViewCrop(global_size=64, num_local=0)(make_sample())
    res['latlon'] = np.array([np.nan, 3.0])
    _raises_field('latlon', PackSkySensePretrainInputs(), res)
    _raises_field('s2_doy', DateJitter(max_days=3),
                  dict(sample_id='tile_0007', s2_doy=np.array([0, 4])))
    # configuration / pipeline-order errors are not per-sample errors
    with pytest.raises(KeyError, match='MultiViewCrop first'):
        RandomSubsequence(length=2)(make_sample())
    with pytest.raises(ValueError, match='multiple of grid'):
        MultiViewCrop(global_size=100)


# ---------------------------------------------------------------- geometry
def _index_grid(h, w):
    r, c = np.mgrid[0:h, 0:w]
    return np.stack([r, c], axis=0).astype(np.float32)  # (2, h, w)


def test_correspondence_identity_flip_rot():
    box = [0, 0, 96, 96]
    coords, valid = view_correspondence(box, False, 0, box, False, 0, (3, 3),
                                        (3, 3))
    assert valid.all()
    np.testing.assert_array_equal(
        coords.permute(2, 0, 1).numpy(), _index_grid(3, 3))
    # A flipped, B plain: A cell (i, j) shows ground column 2 - j
    coords, _ = view_correspondence(box, True, 0, box, False, 0, (3, 3),
                                    (3, 3))
    assert coords[0, 0].tolist() == [0, 2] and coords[1, 2].tolist() == [1, 0]
    # A rot90 (k=1), B plain: A = np.rot90(ground) -> A[i, j] = g[j, 2 - i]
    coords, _ = view_correspondence(box, False, 1, box, False, 0, (3, 3),
                                    (3, 3))
    assert coords[0, 0].tolist() == [0, 2] and coords[0, 1].tolist() == [1, 2]
    assert coords[2, 0].tolist() == [0, 0]


@pytest.mark.parametrize(
    'fa,ka,fb,kb',
    list(itertools.product([False, True], range(4), [False, True], range(4))))
def test_correspondence_matches_numpy_flip_rot(fa, ka, fb, kb):
    """Same box: A's cell and B's matched cell show the same ground cell."""
    h, w = (4, 4) if (ka + kb) % 2 else (4, 6)
    box = [0, 0, 32 * w, 32 * h]
    ground = _index_grid(h, w)
    view_a = _flip_rot(ground, fa, ka, (-2, -1))
    view_b = _flip_rot(ground, fb, kb, (-2, -1))
    coords, valid = view_correspondence(box, fa, ka, box, fb, kb,
                                        view_a.shape[-2:], view_b.shape[-2:])
    assert valid.all()
    rc = coords.round().long().numpy()
    np.testing.assert_allclose(coords.numpy(), rc, atol=1e-5)
    matched = view_b[:, rc[..., 0], rc[..., 1]]
    np.testing.assert_array_equal(matched, view_a)


def test_correspondence_shifted_and_scaled_crops():
    # B starts 32 px right of A; stride-32 grids of 2x2
    coords, valid = view_correspondence([0, 0, 64, 64], False, 0,
                                        [32, 0, 96, 64], False, 0, (2, 2),
                                        (2, 2))
    assert valid.tolist() == [[False, True], [False, True]]
    assert coords[0, 1].tolist() == [0, 0] and coords[1, 1].tolist() == [1, 0]
    # B covers twice A's extent at the same grid size: half-cell positions
    coords, valid = view_correspondence([0, 0, 64, 64], False, 0,
                                        [0, 0, 128, 128], False, 0, (2, 2),
                                        (2, 2))
    assert valid.all()
    np.testing.assert_allclose(coords[..., 1].numpy(),
                               [[-0.25, 0.25], [-0.25, 0.25]])
    # batched, and consistent with grid_sample
    boxes_a = np.array([[0, 0, 64, 64], [32, 32, 96, 96]], np.float32)
    boxes_b = np.array([[0, 0, 64, 64], [32, 32, 96, 96]], np.float32)
    coords, valid = view_correspondence(boxes_a, [True, False], [0, 3],
                                        boxes_b, [False, False], [0, 0],
                                        (2, 2), (2, 2))
    assert coords.shape == (2, 2, 2, 2) and valid.shape == (2, 2, 2)
    feat_b = torch.arange(8.).view(2, 1, 2, 2)
    sampled = F.grid_sample(feat_b,
                            correspondence_to_grid(coords, (2, 2)),
                            align_corners=False)
    exp = torch.stack([
        torch.from_numpy(_flip_rot(feat_b[i, 0].numpy(), f, k, (0, 1)))
        for i, (f, k) in enumerate([(True, 0), (False, 3)])
    ])
    torch.testing.assert_close(sampled[:, 0], exp)
