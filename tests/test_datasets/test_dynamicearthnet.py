"""``skysense_mm.DynamicEarthNetDataset`` and its loading transforms on a
tree in the official DynamicEarthNet layout (https://arxiv.org/abs/2312.10115,
Tab. 2c). No real DynamicEarthNet data is available: the tree is written by
tests/_dynamicearthnet_layout.py, which follows BENCHMARK_PROTOCOLS.md (a)
(see its docstring for what is faithful and what is [UNCONFIRMED])."""
import os
import os.path as osp
import sys

import numpy as np
import pytest

import skysense_mm  # noqa: F401 (registers the modules)
from skysense_mm.datasets.transforms.dynamic_earthnet_loading import \
    decode_onehot_label
from skysense_mm.registry import DATASETS

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _dynamicearthnet_layout import (CUBES, make_dynamicearthnet,  # noqa
                                     onehot, write_tif)

CUBE, ZONE, GRID, LABEL_DIR = CUBES[0]
PIPELINE = [
    dict(type='skysense_mm.LoadDynamicEarthNetImage'),
    dict(type='skysense_mm.LoadDynamicEarthNetAnnotations'),
    dict(type='mmseg.PackSegInputs',
         meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                    'cube_id', 'month')),
]


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    return make_dynamicearthnet(str(tmp_path_factory.mktemp('dynnet')),
                                months=('2018-01', '2018-02'))


def build(root, **kwargs):
    cfg = dict(type='skysense_mm.DynamicEarthNetDataset', data_root=root,
               split='val', pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_planet_single_frame_and_labels(tree):
    ds = build(tree['root'])
    assert len(ds) == 4  # 2 cubes x 2 months, in split-file order
    assert ds.cube_months() == {c[0]: ['2018-01', '2018-02'] for c in CUBES}
    out = ds[1]
    meta = out['data_samples'].metainfo
    assert (meta['cube_id'], meta['month']) == (CUBE, '2018-02')
    assert meta['img_path'].endswith(
        f'planet/{ZONE}/{GRID}/{CUBE}/PF-SR/2018-02-01.tif')
    assert meta['seg_map_path'].endswith(
        f'labels/{CUBE}_{ZONE}/Labels/Raster/{LABEL_DIR}/'
        f'{LABEL_DIR}-2018_02_01.tif')
    img = out['inputs']
    assert img.shape == (4, 64, 64)
    # stored B, G, R, NIR = 1000 * (b + 1) + day (+ noise 0..2) -> R, G, B, NIR
    np.testing.assert_array_less(
        np.abs(img[:, 0, 0].numpy() - [3001, 2001, 1001, 4001]), 3)
    gt = out['data_samples'].gt_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(gt, tree['labels'][(CUBE, '2018-02')])
    assert set(np.unique(gt)) <= set(range(6)) | {255}
    assert (gt == 255).any()  # snow/ice and empty pixels


def test_planet_weekly_frames(tree):
    out = build(tree['root'], frames='weekly')[0]
    img = out['inputs'].numpy()
    assert img.shape == (24, 64, 64)
    days = img[3::4, 0, 0] - 4000  # NIR of each frame = day (+ noise)
    np.testing.assert_array_less(np.abs(days - [1, 5, 10, 15, 20, 25]), 3)
    median = build(tree['root'], frames='weekly', pipeline=[
        dict(type='skysense_mm.LoadDynamicEarthNetImage',
             temporal_reduce='median')])[0]['img']
    assert median.shape == (64, 64, 4)
    assert abs(median[0, 0, 3] - 4012.5) <= 3


def test_s2_band_selection_on_label_grid(tree):
    out = build(tree['root'], modality='s2')[0]
    img = out['inputs'].numpy()
    # 12 stored bands B01..B08, B8A, B10, B11, B12 = 100 * (i + 1); keep
    # B02-B08, B8A, B11, B12, resampled from 20x20 to the 64x64 label grid
    assert img.shape == (10, 64, 64)
    np.testing.assert_allclose(
        img[:, 10, 10],
        [200, 300, 400, 500, 600, 700, 800, 900, 1100, 1200])
    np.testing.assert_array_equal(
        out['data_samples'].gt_sem_seg.data[0].numpy(),
        tree['labels'][(CUBE, '2018-01')])


def test_pangaea_paths_and_hyphen_label_names(tmp_path):
    root = make_dynamicearthnet(str(tmp_path), months=('2018-01', ),
                                splits={'val': [CUBE]})['root']
    split = osp.join(root, 'dynnet_training_splits', 'val.txt')
    with open(split) as f:
        line = f.read().replace('/reprocess-cropped/UTM-24000/', '/planet/')
    with open(split, 'w') as f:
        f.write(line)
    # the label file named with hyphens, as some cubes are
    old = osp.join(root, line.split()[1].lstrip('/'))
    os.rename(old, old.replace('2018_01_01', '2018-01-01'))
    ds = build(root)
    assert ds[0]['data_samples'].seg_map_path.endswith('-2018-01-01.tif')


def test_decode_onehot_label():
    index = np.array([[0, 5, 6], [255, 2, 3]])
    np.testing.assert_array_equal(
        decode_onehot_label(onehot(index), 'x.tif'),
        [[0, 5, 255], [255, 2, 3]])
    two = onehot(index)
    two[1, 0, 0] = 255  # class 0 and 1 at (0, 0)
    with pytest.raises(ValueError, match=r'x\.tif: 1 label pixels have '
                       r'several classes set.*\[0, 1\]'):
        decode_onehot_label(two, 'x.tif')
    bad = onehot(index)
    bad[2, 1, 1] = 1
    with pytest.raises(ValueError, match=r'x\.tif: .*0 or 255, found \[1\]'):
        decode_onehot_label(bad, 'x.tif')


def test_missing_files_name_the_file(tmp_path):
    root = make_dynamicearthnet(str(tmp_path), months=('2018-01', ),
                                splits={'val': [CUBE]})['root']
    frame = osp.join(root, 'planet', ZONE, GRID, CUBE, 'PF-SR',
                     '2018-01-10.tif')
    os.remove(frame)
    build(root)  # 'single' reads day 01 only
    with pytest.raises(FileNotFoundError, match=f'{frame}.*not found'):
        build(root, frames='weekly')
    with pytest.raises(FileNotFoundError, match='sentinel2.*not found'):
        os.remove(osp.join(root, 'sentinel2', CUBE, f'{CUBE}_2018_01.tif'))
        build(root, modality='s2')
    label = osp.join(root, f'labels/{CUBE}_{ZONE}/Labels/Raster/{LABEL_DIR}/'
                     f'{LABEL_DIR}-2018_01_01.tif')
    os.remove(label)
    with pytest.raises(FileNotFoundError, match=f'val.txt:1: label file '
                       f'{label} not found'):
        build(root)
    with pytest.raises(FileNotFoundError, match='split file'):
        build(root, split='train')


def test_wrong_band_counts_name_the_file(tmp_path):
    root = make_dynamicearthnet(str(tmp_path), months=('2018-01', ),
                                splits={'val': [CUBE]})['root']
    frame = osp.join(root, 'planet', ZONE, GRID, CUBE, 'PF-SR',
                     '2018-01-01.tif')
    write_tif(frame, np.zeros((3, 64, 64), np.uint16))
    with pytest.raises(ValueError, match=f'{frame}: expected 4 bands, '
                       'found 3'):
        build(root)[0]
    write_tif(frame, np.zeros((4, 64, 64), np.uint16))
    label = osp.join(root, f'labels/{CUBE}_{ZONE}/Labels/Raster/{LABEL_DIR}/'
                     f'{LABEL_DIR}-2018_01_01.tif')
    write_tif(label, np.zeros((6, 64, 64), np.uint8))
    with pytest.raises(ValueError, match=f'{label}: expected 7 bands'):
        build(root)[0]
    write_tif(label, onehot(np.zeros((32, 32), np.int64)))
    with pytest.raises(ValueError, match=f'{label}: label size'):
        build(root)[0]


def test_bad_split_line(tmp_path):
    root = make_dynamicearthnet(str(tmp_path), months=('2018-01', ),
                                splits={'val': [CUBE]})['root']
    with open(osp.join(root, 'dynnet_training_splits', 'val.txt'), 'a') as f:
        f.write('/x/PF-SR labels/a.tif\n')
    with pytest.raises(ValueError, match='val.txt:2: expected 3'):
        build(root)


def test_split_without_labels(tmp_path):
    root = make_dynamicearthnet(str(tmp_path), months=('2018-01', ),
                                splits={'test': [CUBE]})['root']
    label = osp.join(root, f'labels/{CUBE}_{ZONE}/Labels/Raster/{LABEL_DIR}/'
                     f'{LABEL_DIR}-2018_01_01.tif')
    os.remove(label)
    load = dict(type='skysense_mm.LoadDynamicEarthNetImage',
                label_size=(48, 40))
    pipeline = [load, dict(type='mmseg.PackSegInputs')]
    out = build(root, split='test', with_label=False, pipeline=pipeline)[0]
    assert out['data_samples'].seg_map_path == label  # names the submission
    assert 'gt_sem_seg' not in out['data_samples']
    s2 = build(root, split='test', with_label=False, modality='s2',
               pipeline=pipeline)[0]
    assert s2['inputs'].shape == (10, 48, 40)  # the given label grid
