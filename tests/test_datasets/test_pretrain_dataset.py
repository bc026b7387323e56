"""SkySensePretrainDataset + LoadSkySensePretrainSample (issue 4, item 1)."""
import datetime
import json
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
import rasterio
from mmengine.registry import DefaultScope

from _pretrain_world import (BREAKERS, make_demo_data, make_world, rewrite,
                             s1_files, s2_files)
from skysense_mm.datasets import (PretrainSampleError,
                                  SkySensePretrainDataset)
from skysense_mm.datasets.transforms import LoadSkySensePretrainSample
from skysense_mm.registry import DATASETS, TRANSFORMS

LOAD = dict(type='LoadSkySensePretrainSample')


def build(root, **kwargs):
    pipeline = kwargs.pop('pipeline', [LOAD])
    return SkySensePretrainDataset(
        data_root=str(root), pipeline=pipeline, **kwargs)


def doy_of(path):
    d = datetime.datetime.strptime(osp.basename(path)[:8], '%Y%m%d')
    return d.timetuple().tm_yday


def test_registered_and_built_from_config(tmp_path):
    assert DATASETS.get('SkySensePretrainDataset') is SkySensePretrainDataset
    assert TRANSFORMS.get(
        'LoadSkySensePretrainSample') is LoadSkySensePretrainSample
    root = make_world(tmp_path, num_samples=1, hr_size=32, num_s2=1,
                      num_s1=1)
    # from mmengine's root registry, as a config with a scope prefix does
    from mmengine.registry import DATASETS as ROOT_DATASETS
    ds = ROOT_DATASETS.build(
        dict(type='skysense_mm.SkySensePretrainDataset', data_root=root,
             ann_file='splits/all.txt',
             pipeline=[dict(type='skysense_mm.LoadSkySensePretrainSample')]))
    assert ds[0]['s2'].shape == (1, 10, 1, 1)
    with DefaultScope.overwrite_default_scope('skysense_mm'):
        ds = DATASETS.build(
            dict(type='SkySensePretrainDataset', data_root=root,
                 pipeline=[LOAD]))
    assert ds[0]['hr'].shape == (32, 32, 3)


def test_loaded_sample_contract(tmp_path):
    root = make_world(tmp_path, num_samples=3, hr_size=64, num_s2=3,
                      num_s1=2)
    ds = build(root, ann_file='splits/all.txt')
    assert len(ds) == 3
    r = ds[1]
    sid = 'demo_00001'
    assert r['sample_id'] == sid
    with open(osp.join(root, sid, 'metadata.json')) as f:
        meta = json.load(f)
    assert r['latlon'].dtype == np.float64 and r['latlon'].shape == (2, )
    np.testing.assert_array_equal(r['latlon'], [meta['lat'], meta['lon']])
    assert r['hr'].dtype == np.float32 and r['hr'].shape == (64, 64, 3)
    with rasterio.open(osp.join(root, sid, 'hr.tif')) as f:
        np.testing.assert_array_equal(r['hr'], f.read().transpose(1, 2, 0))
    assert r['hr_doy'] == datetime.date.fromisoformat(
        meta['hr_date']).timetuple().tm_yday
    s2p, s1p = s2_files(root, sid), s1_files(root, sid)
    assert r['s2'].dtype == np.float32 and r['s2'].shape == (3, 10, 2, 2)
    assert r['s2_valid'].dtype == bool and r['s2_valid'].shape == (3, 2, 2)
    assert r['s2_doy'].dtype == np.int64
    assert r['s2_doy'].tolist() == [doy_of(p) for p in s2p]
    assert r['s2_dates'] == [
        datetime.datetime.strptime(osp.basename(p)[:8],
                                   '%Y%m%d').date().isoformat() for p in s2p
    ]
    assert r['s1'].dtype == np.float32 and r['s1'].shape == (2, 2, 2, 2)
    assert r['s1_valid'].shape == (2, 2, 2) and r['s1_valid'].dtype == bool
    assert r['s1_doy'].tolist() == [doy_of(p) for p in s1p]
    assert len(r['s1_dates']) == 2
    # raw values: valid pixels equal the file, S2 in DN, S1 in dB
    with rasterio.open(s2p[0]) as f:
        raw = f.read().astype(np.float32)
    v = r['s2_valid'][0]
    np.testing.assert_array_equal(r['s2'][0][:, v], raw[:, v])
    assert np.isfinite(r['s1']).all() and np.isfinite(r['s2']).all()
    # dB range on valid pixels (VV, VH of the demo classes are < 5 dB)
    assert (r['s1'].transpose(1, 0, 2, 3)[:, r['s1_valid']] < 5).all()
    assert r['hr_window'].tolist() == [0, 0, 64, 64]


def test_day_of_year_values(tmp_path):
    root = make_world(tmp_path, num_samples=1, hr_size=32)
    sid = 'demo_00000'
    d = osp.join(root, sid, 's2')
    for f in os.listdir(d):
        os.remove(osp.join(d, f))
    for stem in ('20200101', '20201231', '20210301'):  # leap year 2020
        with rasterio.open(
                osp.join(d, stem + '.tif'), 'w', driver='GTiff', height=1,
                width=1, count=10, dtype='uint16', nodata=0, crs='EPSG:4326',
                transform=rasterio.Affine(1e-4, 0, 10, 0, -1e-4, 50)) as f:
            f.write(np.full((10, 1, 1), 100, np.uint16))
    r = build(root)[0]
    assert r['s2_doy'].tolist() == [1, 366, 60]
    assert r['s2_dates'] == ['2020-01-01', '2020-12-31', '2021-03-01']
    assert r['s2_valid'].all()


def test_windowed_read_equals_full_crop(tmp_path):
    root = make_world(tmp_path, num_samples=1, hr_size=128, num_s2=4,
                      num_s1=3)
    full = build(root)[0]
    load = LoadSkySensePretrainSample()
    info = build(root).get_data_info(0)
    info['hr_window'] = (32, 64, 64, 32)  # x0, y0, w, h
    win = load(info)
    np.testing.assert_array_equal(win['hr'], full['hr'][64:96, 32:96])
    for m in ('s2', 's1'):
        np.testing.assert_array_equal(win[m], full[m][..., 2:3, 1:3])
        np.testing.assert_array_equal(win[f'{m}_valid'],
                                      full[f'{m}_valid'][..., 2:3, 1:3])
        np.testing.assert_array_equal(win[f'{m}_doy'], full[f'{m}_doy'])
    assert win['hr_window'].tolist() == [32, 64, 64, 32]
    # random crop: aligned to the 32 grid and equal to the full-read crop
    np.random.seed(3)
    load = LoadSkySensePretrainSample(crop_size=(64, 96))
    seen = set()
    for _ in range(6):
        r = load(build(root).get_data_info(0))
        x0, y0, w, h = r['hr_window'].tolist()
        assert (w, h) == (96, 64) and x0 % 32 == 0 and y0 % 32 == 0
        seen.add((x0, y0))
        np.testing.assert_array_equal(r['hr'],
                                      full['hr'][y0:y0 + h, x0:x0 + w])
        np.testing.assert_array_equal(
            r['s2'], full['s2'][..., y0 // 32:(y0 + h) // 32,
                                x0 // 32:(x0 + w) // 32])
    assert len(seen) > 1
    with pytest.raises(ValueError, match='multiples of hr_scale'):
        LoadSkySensePretrainSample(crop_size=(40, 64))
    info = build(root).get_data_info(0)
    info['hr_window'] = (16, 0, 32, 32)
    with pytest.raises(PretrainSampleError, match="'hr_window'"):
        LoadSkySensePretrainSample()(info)


def test_nodata_and_cloud_are_invalid(tmp_path):
    root = make_world(tmp_path, num_samples=1, hr_size=64, num_s2=3,
                      num_s1=2)
    sid = 'demo_00000'
    s2p = s2_files(root, sid)

    def nodata(d):
        d[:, 0, 0] = 0  # all bands nodata
        d[3, 1, 1] = 0  # one band nodata -> pixel invalid
        return d

    rewrite(s2p[0], nodata)
    rewrite(s2p[0][:-4] + '_cloud.tif',
            lambda d: np.array([[[0, 1], [0, 0]]], np.uint8))
    rewrite(s2p[1][:-4] + '_cloud.tif', lambda d: np.zeros_like(d))
    rewrite(s2p[1], lambda d: np.maximum(d, 1))
    os.remove(s2p[2][:-4] + '_cloud.tif')  # masks are optional
    rewrite(s2p[2], lambda d: np.maximum(d, 1))

    def nan(d):
        d[:, 1, 0] = np.nan
        d[1, 0, 1] = np.inf
        return d

    rewrite(s1_files(root, sid)[1], nan)
    rewrite(s1_files(root, sid)[0], lambda d: np.nan_to_num(d))
    r = build(root)[0]
    assert r['s2_valid'][0].tolist() == [[False, False], [True, False]]
    assert r['s2_valid'][1:].all()
    assert (r['s2'][0][:, ~r['s2_valid'][0]] == 0).all()
    assert (r['s2'][0][:, r['s2_valid'][0]] > 0).all()
    assert r['s1_valid'][0].all()
    assert r['s1_valid'][1].tolist() == [[True, False], [False, True]]
    assert np.isfinite(r['s1']).all()
    assert (r['s1'][1][:, ~r['s1_valid'][1]] == 0).all()


@pytest.mark.parametrize('case', sorted(BREAKERS))
def test_bad_input_error_names_file_and_field(tmp_path, case):
    root = make_world(tmp_path, num_samples=2, hr_size=64, num_s2=3,
                      num_s1=2)
    path, field, reason = BREAKERS[case](root, 'demo_00001')
    pipeline = [dict(type='LoadSkySensePretrainSample', min_s1_dates=2)]
    ds = build(root, ann_file='splits/all.txt', pipeline=pipeline)
    assert ds[0]['sample_id'] == 'demo_00000'
    with pytest.raises(PretrainSampleError) as exc:
        ds[1]
    err = exc.value
    assert (err.path, err.field) == (path, field), str(err)
    assert reason in err.reason
    assert path in str(err) and f"'{field}'" in str(err)
    # survives the trip from a dataloader worker
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.field, str(again)) == (path, field, str(err))


def test_skip_policy_counts_and_never_returns_bad(tmp_path):
    root = make_world(tmp_path, num_samples=5, hr_size=32, num_s2=2,
                      num_s1=1)
    BREAKERS['all_nodata_s2'](root, 'demo_00001')
    BREAKERS['missing_lon'](root, 'demo_00003')
    bad = {'demo_00001', 'demo_00003'}
    with pytest.raises(ValueError, match='on_error'):
        build(root, on_error='ignore')
    with pytest.raises(PretrainSampleError, match='demo_00001'):
        build(root, on_error='fail')[1]
    np.random.seed(0)
    ds = build(root, on_error='skip')
    out = [ds[i]['sample_id'] for i in range(len(ds))]
    assert not bad & set(out)
    assert out[0] == 'demo_00000' and out[2] == 'demo_00002'
    assert ds.num_skipped >= 2 and ds.num_skipped == len(ds.skipped)
    assert {m.split('/')[-2] if 'metadata' in m else m.split('/')[-3]
            for m in ds.skipped} == bad
    # every redraw that hit a bad sample is counted
    hits = sum(1 for m in ds.skipped if 'demo_00001' in m)
    assert hits >= 1


def test_skip_policy_all_bad_raises(tmp_path):
    root = make_world(tmp_path, num_samples=2, hr_size=32, num_s2=1,
                      num_s1=1)
    for sid in ('demo_00000', 'demo_00001'):
        BREAKERS['missing_hr'](root, sid)
    ds = build(root, on_error='skip', max_refetch=3)
    with pytest.raises(RuntimeError, match='no loadable sample'):
        ds[0]
    assert ds.num_skipped == 4


def test_indexing_without_split_and_missing_split(tmp_path):
    root = make_world(tmp_path, num_samples=3, hr_size=32, num_s2=1,
                      num_s1=1)
    os.makedirs(osp.join(root, 'not_a_sample'))
    ds = build(root)
    assert [ds.get_data_info(i)['sample_id']
            for i in range(len(ds))] == ['demo_00000', 'demo_00001',
                                         'demo_00002']
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        build(root, ann_file='splits/nope.txt')


def test_demo_world_is_deterministic_and_regional(tmp_path):
    a = make_world(tmp_path / 'a', num_samples=8, hr_size=64, seed=1)
    b = make_world(tmp_path / 'b', num_samples=8, hr_size=64, seed=1)
    c = make_world(tmp_path / 'c', num_samples=8, hr_size=64, seed=2)
    ra, rb, rc = build(a)[5], build(b)[5], build(c)[5]
    for k in ('hr', 's2', 's1', 's2_valid', 's2_doy', 'latlon'):
        np.testing.assert_array_equal(ra[k], rb[k])
    assert not np.array_equal(ra['hr'], rc['hr'])
    # class mix depends on the region (arid: mostly bare; boreal: forest)
    fr = {}
    big = make_world(tmp_path / 'big', num_samples=40, hr_size=32, seed=0,
                     num_s2=1, num_s1=1)
    for i in range(40):
        with open(osp.join(big, f'demo_{i:05d}', 'metadata.json')) as f:
            m = json.load(f)
        fr.setdefault(m['region'], []).append(
            [m['class_fractions'][c] for c in make_demo_data.CLASSES])
    mean = {k: np.mean(v, 0) for k, v in fr.items()}
    assert mean['arid'][4] > mean['boreal'][4]
    assert mean['boreal'][1] > mean['arid'][1]
    with open(osp.join(big, 'demo_00003', 'metadata.json')) as f:
        m = json.load(f)
    assert m['region'] == 'coastal_city' and m['lat'] < 0
    # splits + downstream labels at HR size with class indices
    with open(osp.join(a, 'splits', 'train.txt')) as f:
        train = f.read().split()
    with open(osp.join(a, 'splits', 'val.txt')) as f:
        val = f.read().split()
    assert len(train) == 6 and len(val) == 2 and not set(train) & set(val)
    lab = cv2.imread(osp.join(a, 'demo_00000', 'label.png'),
                     cv2.IMREAD_UNCHANGED)
    assert lab.shape == (64, 64) and lab.max() < 5


def test_demo_world_seasonal_and_clouds(tmp_path):
    root = make_world(tmp_path, num_samples=8, hr_size=32, num_s2=12,
                      num_s1=2)
    ndvi_amp, clouds = [], 0
    ds = build(root)
    for i in range(8):
        r = ds[i]
        with open(osp.join(root, r['sample_id'], 'metadata.json')) as f:
            crop = json.load(f)['class_fractions']['cropland']
        clouds += int((~r['s2_valid']).any())
        nir, red = r['s2'][:, 6, 0, 0], r['s2'][:, 2, 0, 0]
        ok = r['s2_valid'][:, 0, 0]
        ndvi = (nir - red)[ok] / (nir + red)[ok]
        if crop > 0.9:
            ndvi_amp.append(ndvi.max() - ndvi.min())
    assert clouds >= 2
    assert ndvi_amp and min(ndvi_amp) > 0.3


def test_demo_default_cli_is_fast(tmp_path):
    import time
    t = time.perf_counter()
    make_demo_data.main(['--out', str(tmp_path / 'w')])
    assert time.perf_counter() - t < 20
    ids = (tmp_path / 'w' / 'splits' / 'all.txt').read_text().split()
    assert len(ids) == 24
    r = build(tmp_path / 'w')[0]
    assert r['hr'].shape == (128, 128, 3)
    assert r['s2'].shape == (6, 10, 4, 4) and r['s1'].shape == (4, 2, 4, 4)


def test_relative_data_root_and_split_file(tmp_path, monkeypatch):
    # mmengine joins ann_file to data_root itself; joining twice broke
    # relative roots (the usual way configs give them)
    make_world(tmp_path / 'world', num_samples=2, hr_size=32, num_s2=1,
               num_s1=1)
    monkeypatch.chdir(tmp_path)
    ds = SkySensePretrainDataset(
        data_root='world', ann_file='splits/all.txt', pipeline=[LOAD])
    assert len(ds) == 2
    assert ds[0]['hr'].shape == (32, 32, 3)
