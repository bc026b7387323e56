"""Helpers for the pre-training data tests: a tiny demo world and ways to
break samples (shared by test_pretrain_dataset.py and
test_check_pretrain_data.py)."""
import importlib.util
import json
import os
import os.path as osp
import shutil

import numpy as np
import rasterio

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
_SPEC = importlib.util.spec_from_file_location(
    'make_demo_data', osp.join(ROOT, 'tools', 'misc', 'make_demo_data.py'))
make_demo_data = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(make_demo_data)


def make_world(out, num_samples=4, hr_size=64, seed=0, num_s2=3, num_s1=2):
    """Generate a tiny demo world and return its root."""
    return make_demo_data.generate(
        str(out), num_samples=num_samples, hr_size=hr_size, seed=seed,
        num_s2=num_s2, num_s1=num_s1)


def s2_files(root, sid):
    d = osp.join(root, sid, 's2')
    return sorted(
        osp.join(d, f) for f in os.listdir(d) if not f.endswith('_cloud.tif'))


def s1_files(root, sid):
    d = osp.join(root, sid, 's1')
    return sorted(osp.join(d, f) for f in os.listdir(d))


def rewrite(path, fn, count=None, dtype=None):
    """Rewrite a GeoTIFF with ``fn(data) -> data`` (same georeference)."""
    with rasterio.open(path) as ds:
        profile = ds.profile
        data = ds.read()
        desc = ds.descriptions
    data = fn(data)
    profile.update(count=data.shape[0], height=data.shape[1],
                   width=data.shape[2])
    if dtype:
        profile.update(dtype=dtype)
    with rasterio.open(path, 'w', **profile) as ds:
        ds.write(data.astype(profile['dtype']))
        if data.shape[0] == len(desc):
            for i, d in enumerate(desc):
                if d:
                    ds.set_band_description(i + 1, d)


def wrong_band_count(root, sid):
    """S2 date with 13 bands -> (file, field, reason)."""
    path = s2_files(root, sid)[1]
    rewrite(path, lambda d: np.concatenate([d, d[:3]]))
    return path, 's2', 'expected 10 bands'


def bad_date(root, sid):
    path = s2_files(root, sid)[0]
    new = osp.join(osp.dirname(path), '2021-13-45.tif')
    os.rename(path, new)
    cloud = path[:-4] + '_cloud.tif'
    if osp.exists(cloud):
        os.remove(cloud)
    return new, 's2_dates', 'unparseable date'


def all_nodata_s2(root, sid):
    path = s2_files(root, sid)[-1]
    rewrite(path, lambda d: np.zeros_like(d))
    return path, 's2', 'all pixels are nodata'


def all_nan_s1(root, sid):
    path = s1_files(root, sid)[0]
    rewrite(path, lambda d: np.full_like(d, np.nan))
    return path, 's1', 'all pixels are nodata'


def missing_lon(root, sid):
    path = osp.join(root, sid, 'metadata.json')
    with open(path) as f:
        meta = json.load(f)
    del meta['lon']
    with open(path, 'w') as f:
        json.dump(meta, f)
    return path, 'lon', 'missing'


def missing_lat_value(root, sid):
    path = osp.join(root, sid, 'metadata.json')
    with open(path) as f:
        meta = json.load(f)
    meta['lat'] = None
    with open(path, 'w') as f:
        json.dump(meta, f)
    return path, 'lat', 'missing'


def short_s1(root, sid):
    """Leave 1 S1 date; the loader is run with min_s1_dates=2."""
    for p in s1_files(root, sid)[1:]:
        os.remove(p)
    return osp.join(root, sid, 's1'), 's1', 'fewer than min_s1_dates=2'


def missing_s2(root, sid):
    shutil.rmtree(osp.join(root, sid, 's2'))
    return osp.join(root, sid, 's2'), 's2', 'missing modality'


def missing_hr(root, sid):
    path = osp.join(root, sid, 'hr.tif')
    os.remove(path)
    return path, 'hr', 'file not found'


def wrong_s2_size(root, sid):
    path = s2_files(root, sid)[0]
    rewrite(path, lambda d: np.repeat(d, 2, axis=1))
    return path, 's2', 'expected'


BREAKERS = dict(
    wrong_band_count=wrong_band_count,
    bad_date=bad_date,
    all_nodata_s2=all_nodata_s2,
    all_nan_s1=all_nan_s1,
    missing_lon=missing_lon,
    missing_lat_value=missing_lat_value,
    short_s1=short_s1,
    missing_s2=missing_s2,
    missing_hr=missing_hr,
    wrong_s2_size=wrong_s2_size,
)
