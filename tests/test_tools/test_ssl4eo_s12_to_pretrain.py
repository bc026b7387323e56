"""tools/dataset_converters/ssl4eo_s12_to_pretrain.py on the real SSL4EO-S12
sample of ../shared/data (issue 4, item 1)."""
import importlib.util
import json
import os.path as osp

import numpy as np
import rasterio

from skysense_mm.datasets import SkySensePretrainDataset
from skysense_mm.datasets.pretrain_format import index_sample
from skysense_mm.datasets.transforms.loading import check_pretrain_sample

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
_SPEC = importlib.util.spec_from_file_location(
    'ssl4eo_s12_to_pretrain',
    osp.join(ROOT, 'tools', 'dataset_converters',
             'ssl4eo_s12_to_pretrain.py'))
conv = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(conv)
SUB = 'SSL4EO-S12/kai-tub__rico-hdl/integration_tests/tiffs/SSL4EO-S12'


def test_convert_and_load_ssl4eo_s12(shared_data, tmp_path):
    src = osp.join(shared_data, SUB)
    out = str(tmp_path / 'out')
    conv.main([src, out, '--size', '8'])
    assert check_pretrain_sample(index_sample(out, '0000200'),
                                 min_s1_dates=2) == []
    ds = SkySensePretrainDataset(
        data_root=out, ann_file='splits/all.txt',
        pipeline=[dict(type='LoadSkySensePretrainSample', min_s1_dates=2)])
    r = ds[0]
    assert r['sample_id'] == '0000200'
    assert r['hr'].shape == (256, 256, 3)
    assert r['s2'].shape == (2, 10, 8, 8) and r['s1'].shape == (2, 2, 8, 8)
    assert r['s2_dates'] == ['2020-06-04', '2020-08-13']
    assert r['s2_doy'].tolist() == [156, 226]
    assert r['s1_dates'] == ['2020-06-07', '2020-09-03']
    assert r['s1_doy'].tolist() == [159, 247]
    # S2 values are the original DN: B2 (10 m) centre crop; B5 (20 m) by
    # georeferenced nearest neighbour (its grid starts half a 10 m pixel
    # earlier, so 10 m pixel j falls in 20 m pixel (j + 1) // 2)
    s2dir = osp.join(src, 's2a', '0000200',
                     '20200604T054639_20200604T054831_T43RCP')
    with rasterio.open(osp.join(s2dir, 'B2.tif')) as f:
        b2 = f.read(1)
    off = (b2.shape[0] - 8) // 2
    np.testing.assert_array_equal(r['s2'][0, 0], b2[off:off + 8,
                                                    off:off + 8])
    with rasterio.open(osp.join(s2dir, 'B5.tif')) as f:
        b5 = f.read(1)
    idx = (np.arange(off, off + 8) + 1) // 2
    np.testing.assert_array_equal(r['s2'][0, 3], b5[np.ix_(idx, idx)])
    # S1 in dB, plausible range; location near the raster centre
    assert np.isfinite(r['s1']).all() and -35 < r['s1'].mean() < 5
    with open(osp.join(s2dir, 'metadata.json')) as f:
        assert json.load(f)['MGRS_TILE'] == '43RCP'
    assert abs(r['latlon'][0] - 30.46) < 0.05
    assert abs(r['latlon'][1] - 73.31) < 0.05
