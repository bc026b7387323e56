"""fMoW-Sentinel as S2 time series for the SkySense
(https://arxiv.org/abs/2312.10115) fMoW-S2 benchmark. No fMoW-Sentinel
sample exists in ../shared/data: the data is written in the layout SatMAE
documents by tests/_fmow_sentinel_layout.py (see its docstring for what is
documented and what is [UNCONFIRMED])."""
import csv
import os.path as osp

import numpy as np
import pytest
import rasterio
import torch

from _fmow_sentinel_layout import write_fmow_sentinel
from skysense_mm.datasets.fmow_sentinel import (FMOW_CATEGORIES,
                                                FMOW_S2_BANDS,
                                                FMoWSentinelDataset,
                                                LoadFMoWSentinelSeries)


@pytest.fixture(scope='module')
def fmow(tmp_path_factory):
    return write_fmow_sentinel(str(tmp_path_factory.mktemp('fmow')))


def _ds(root, split='train', **kw):
    return FMoWSentinelDataset(ann_file=osp.join(root, f'{split}.csv'),
                               data_prefix=osp.join(root, split), **kw)


def test_categories_and_bands():
    assert len(FMOW_CATEGORIES) == 62
    assert FMOW_CATEGORIES[:3] == ('airport', 'airport_hangar',
                                   'airport_terminal')
    assert FMOW_CATEGORIES[-1] == 'zoo' and 'false_detection' not in \
        FMOW_CATEGORIES
    assert FMOW_S2_BANDS == ('B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A',
                             'B11', 'B12')


def test_groups_locations_into_sorted_series(fmow):
    ds = _ds(fmow)
    assert len(ds) == 3
    a = ds.get_data_info(0)
    assert a['location'] == 'airport_0' and a['gt_label'] == 0
    # CSV order 2018-03-01, 2017-01-10, 2019-12-31 -> sorted by time
    assert [osp.basename(p) for p in a['img_paths']] == [
        'airport_0_1.tif', 'airport_0_0.tif', 'airport_0_2.tif']
    assert a['doys'] == [10, 60, 365]
    z = ds.get_data_info(1)
    assert z['location'] == 'zoo_7' and z['gt_label'] == 61
    assert z['doys'] == [60, 186]  # 2016-02-29 is day 60 of a leap year
    c = ds.get_data_info(2)
    assert c['gt_label'] == FMOW_CATEGORIES.index('crop_field') == 11
    # the CSV's image_path (another machine) is rebuilt from the pattern
    assert c['img_paths'][0] == osp.join(fmow, 'train', 'crop_field',
                                         'crop_field_3', 'crop_field_3_0.tif')
    assert all(osp.isfile(p) for p in c['img_paths'])


def test_series_loader_samples_pads_and_drops_bands(fmow):
    ds = _ds(fmow, pipeline=[
        dict(type='skysense_mm.LoadFMoWSentinelSeries', num_dates=4, size=8,
             sample='uniform'),
        dict(type='PackInputs', meta_keys=('doy', 'date_mask'))])
    out = ds[2]  # crop_field_3: 5 dates -> 4 evenly spaced (0, 1, 3, 4)
    x = out['inputs']
    assert x.shape == (4, 10, 8, 8) and x.dtype == torch.float32
    meta = out['data_samples']
    assert meta.doy.tolist() == [172, 213, 2, 125]
    assert meta.date_mask.tolist() == [True] * 4
    assert out['data_samples'].gt_label.tolist() == [11]
    with rasterio.open(ds.get_data_info(2)['img_paths'][3]) as src:
        raw = src.read().astype(np.float32)
    # file bands B1..B12 (13); kept: indices 1-8, 11, 12 (no B1, B9, B10)
    keep = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12]
    np.testing.assert_array_equal(x[2].numpy(), raw[keep])

    out = ds[1]  # zoo_7: 2 dates -> padded to 4
    assert out['data_samples'].date_mask.tolist() == [True, True, False,
                                                       False]
    assert out['data_samples'].doy.tolist() == [60, 186, 1, 1]
    assert float(out['inputs'][2:].abs().sum()) == 0.0

    rnd = LoadFMoWSentinelSeries(num_dates=2, size=4, sample='random')
    np.random.seed(0)
    res = rnd(dict(ds.get_data_info(2)))
    assert res['img'].shape == (2, 10, 4, 4)
    assert res['date_mask'].all()
    assert list(res['doy']) in [[a, b] for i, a in enumerate(
        [172, 213, 288, 2, 125]) for b in [172, 213, 288, 2, 125][i + 1:]]


def _rewrite(path, edit):
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    edit(rows)
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_bad_csv_rows_name_file_line_and_field(tmp_path):
    root = write_fmow_sentinel(str(tmp_path))
    csv_path = osp.join(root, 'val.csv')

    def bad_time(rows):
        rows[1]['timestamp'] = '2017-13-45'
    _rewrite(csv_path, bad_time)
    with pytest.raises(ValueError, match=r'val.csv line 3: field '
                       r'"timestamp" is \'2017-13-45\''):
        _ds(root, 'val')

    def bad_cat(rows):
        rows[1]['timestamp'] = '2017-02-10T10:00:00Z'
        rows[0]['category'] = 'false_detection'
    _rewrite(csv_path, bad_cat)
    with pytest.raises(ValueError, match=r'val.csv line 2: field '
                       r'"category" is \'false_detection\''):
        _ds(root, 'val')

    with open(csv_path, 'w') as f:
        f.write('category,location_id,image_id\nzoo,1,0\n')
    with pytest.raises(ValueError, match="missing column.*'timestamp'"):
        _ds(root, 'val')


def test_wrong_band_count_names_file(tmp_path):
    root = write_fmow_sentinel(str(tmp_path))
    ds = _ds(root, 'val')
    path = ds.get_data_info(1)['img_paths'][0]  # zoo_12, one date
    with rasterio.open(path) as src:
        src_transform = src.transform
    with rasterio.open(path, 'w', driver='GTiff', height=8, width=8,
                       count=12, dtype='uint16', crs='EPSG:4326',
                       transform=src_transform) as dst:
        dst.write(np.zeros((12, 8, 8), np.uint16))
    with pytest.raises(ValueError, match='band count is 12, expected 13'):
        LoadFMoWSentinelSeries(num_dates=2, size=8)(
            dict(ds.get_data_info(1)))
    with pytest.raises(ValueError, match='num_dates'):
        LoadFMoWSentinelSeries(num_dates=0)
