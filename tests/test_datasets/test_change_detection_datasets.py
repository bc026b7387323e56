"""LEVIR-CD and OSCD datasets + bi-temporal loading (SkySense change
detection, https://arxiv.org/abs/2312.10115, Tab. 2c).

LEVIR-CD: the real samples of ../shared/data (official 1024x1024 tiles and
BIT-CD's 256x256 crops). OSCD: no real imagery exists here; the FAKE-format
fixture ``_fake_format_exact/OSCD`` is used for its layout only (its masks
hold random 0..254 values, which must be rejected), and a generated tree in
the same layout (tests/_oscd_layout.py) checks band selection and values.
"""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

import skysense_mm.datasets  # noqa: F401
from skysense_mm.datasets import LEVIRCDDataset, OSCDDataset
from skysense_mm.datasets.change_detection import S2_BANDS_10
from skysense_mm.registry import DATASETS

from _oscd_layout import BANDS, make_oscd

TTP = 'LEVIR-CD/KyanChen__TTP/samples'
BIT = 'LEVIR-CD/justchenhao__BIT_CD/samples'
FAKE_OSCD = '_fake_format_exact/OSCD/microsoft__torchgeo/tests/data/oscd'
PIPELINE = [
    dict(type='skysense_mm.LoadBiTemporalImageFromFile'),
    dict(type='skysense_mm.LoadChangeLabelFromFile'),
    dict(type='mmseg.ConcatCDInput'),
    dict(type='mmseg.PackSegInputs'),
]


def levir(root, **kwargs):
    return DATASETS.build(dict(type='skysense_mm.LEVIRCDDataset',
                               data_root=root, pipeline=PIPELINE, **kwargs))


def test_levircd_official_tiles(shared_data):
    root = osp.join(shared_data, TTP)
    ds = levir(root)
    assert isinstance(ds, LEVIRCDDataset) and len(ds) == 2
    assert ds.metainfo['classes'] == ('unchanged', 'changed')
    out = ds[1]
    assert out['data_samples'].img_path.endswith('A/test_2.png')
    img = out['inputs'].numpy()
    assert img.shape == (6, 1024, 1024)
    a = np.asarray(Image.open(osp.join(root, 'A', 'test_2.png')))
    b = np.asarray(Image.open(osp.join(root, 'B', 'test_2.png')))
    np.testing.assert_array_equal(img[:3].transpose(1, 2, 0), a)  # RGB
    np.testing.assert_array_equal(img[3:].transpose(1, 2, 0), b)
    gt = out['data_samples'].gt_sem_seg.data.numpy()[0]
    label = np.asarray(Image.open(osp.join(root, 'label', 'test_2.png')))
    assert set(np.unique(gt)) == {0, 1}
    np.testing.assert_array_equal(gt, (label == 255).astype(np.uint8))


def test_levircd_bit_crops_with_list_file(shared_data):
    root = osp.join(shared_data, BIT)
    ds = levir(root, ann_file='list/demo.txt')
    names = [osp.basename(ds.get_data_info(i)['img_path'])
             for i in range(len(ds))]
    assert names[:3] == ['test_77_0512_0256.png', 'test_102_0512_0000.png',
                         'test_121_0768_0256.png']
    out = ds[0]
    assert tuple(out['inputs'].shape) == (6, 256, 256)
    assert set(out['data_samples'].gt_sem_seg.data.unique().tolist()) <= {0,
                                                                          1}


@pytest.fixture
def levir_copy(shared_data, tmp_path):
    root = tmp_path / 'levir'
    for sub in ('A', 'B', 'label'):
        os.makedirs(root / sub)
        for name in ('test_2_0000_0000.png', 'test_2_0000_0512.png'):
            shutil.copy(osp.join(shared_data, BIT, sub, name), root / sub)
    return root


def test_levircd_missing_b_image(levir_copy):
    os.remove(levir_copy / 'B' / 'test_2_0000_0512.png')
    with pytest.raises(FileNotFoundError,
                       match=r'B/test_2_0000_0512.png: missing B image'):
        levir(str(levir_copy))


def test_levircd_label_size_mismatch(levir_copy):
    path = levir_copy / 'label' / 'test_2_0000_0000.png'
    Image.open(path).resize((128, 128), Image.NEAREST).save(path)
    ds = levir(str(levir_copy))
    with pytest.raises(ValueError, match=r'test_2_0000_0000.png: label size '
                       r'\(128, 128\) differs from image size \(256, 256\)'):
        ds[0]


def test_levircd_label_values_outside_0_255(levir_copy):
    path = levir_copy / 'label' / 'test_2_0000_0512.png'
    arr = np.asarray(Image.open(path)).copy()
    arr[0, :3] = [1, 128, 254]
    Image.fromarray(arr).save(path)
    ds = levir(str(levir_copy))
    with pytest.raises(ValueError, match=r'test_2_0000_0512.png: label '
                       r'values \[1, 128, 254\] outside the allowed'):
        ds[1]


def test_levircd_a_b_size_mismatch(levir_copy):
    path = levir_copy / 'B' / 'test_2_0000_0000.png'
    Image.open(path).resize((200, 256)).save(path)
    with pytest.raises(ValueError, match=r'B/test_2_0000_0000.png: shape'):
        levir(str(levir_copy))[0]


def test_oscd_generated_tree_selects_the_10_s2_bands(tmp_path):
    root = make_oscd(str(tmp_path / 'oscd'))
    ds = DATASETS.build(dict(type='skysense_mm.OSCDDataset', data_root=root,
                             split='train', pipeline=PIPELINE))
    assert isinstance(ds, OSCDDataset)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [d['city'] for d in infos] == ['train1', 'train2']
    assert infos[0]['dates'] == ['20161130', '20170829']
    assert [osp.basename(p)[:-4] for p in infos[0]['img_path']] == \
        list(S2_BANDS_10)
    out = ds[0]
    img = out['inputs'].numpy()
    assert img.shape == (20, 40, 48)
    # band Bxx of date d holds 1000 * index(Bxx) + 10 d + [0, 5)
    for k, band in enumerate(S2_BANDS_10):
        for d in (1, 2):
            chan = img[k + 10 * (d - 1)]
            base = 1000 * BANDS.index(band) + 10 * d
            assert chan.min() >= base and chan.max() < base + 5, (band, d)
    gt = out['data_samples'].gt_sem_seg.data.numpy()[0]
    assert gt.sum() == 10 * 20 and gt[5:15, 10:30].all()
    test = OSCDDataset(data_root=root, split='test')
    assert len(test) == 1 and test.get_data_info(0)['city'] == 'test'
    assert 'Test Labels' in test.get_data_info(0)['seg_map_path']


def test_oscd_wrong_band_count_names_the_folder(tmp_path):
    root = make_oscd(str(tmp_path / 'oscd'))
    folder = osp.join(root, 'Onera Satellite Change Detection dataset - '
                      'Images', 'train2', 'imgs_2_rect')
    os.remove(osp.join(folder, 'B05.tif'))
    with pytest.raises(ValueError, match=r"train2/imgs_2_rect: expected the "
                       r"13 OSCD band files .* found 12 \(missing \['B05'\]"):
        OSCDDataset(data_root=root, split='train')


def test_oscd_multiband_file_names_the_file(tmp_path):
    import rasterio
    root = make_oscd(str(tmp_path / 'oscd'))
    path = osp.join(root, 'Onera Satellite Change Detection dataset - '
                    'Images', 'train1', 'imgs_1_rect', 'B03.tif')
    with rasterio.open(path, 'w', driver='GTiff', height=40, width=48,
                       count=2, dtype='uint16') as dst:
        dst.write(np.zeros((2, 40, 48), np.uint16))
    ds = OSCDDataset(data_root=root, split='train', pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'imgs_1_rect/B03.tif: expected a '
                       r'single-band raster, found 2 bands'):
        ds[0]


def test_oscd_fake_fixture_layout(shared_data):
    """The FAKE-format fixture: layout only (random values)."""
    root = osp.join(shared_data, FAKE_OSCD)
    ds = OSCDDataset(data_root=root, split='train',
                     cities=['train1', 'train2'], pipeline=PIPELINE[:1])
    assert len(ds) == 2
    assert ds.get_data_info(0)['dates'] == ['20161130', '20170829']
    out = ds[0]
    assert out['img'].shape == out['img2'].shape == (64, 64, 10)
    # its change masks hold random 0..254 values: rejected, naming the file
    ds = OSCDDataset(data_root=root, split='test', cities=['test'],
                     pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'test/cm/cm.png: label values'):
        ds[0]


def test_oscd_missing_city_list_and_bad_dates(tmp_path):
    root = make_oscd(str(tmp_path / 'oscd'))
    images = osp.join(root, 'Onera Satellite Change Detection dataset - '
                      'Images')
    with open(osp.join(images, 'train1', 'dates.txt'), 'w') as f:
        f.write('date_1: 2016\n')
    with pytest.raises(ValueError, match=r'train1/dates.txt: field date_1'):
        OSCDDataset(data_root=root, split='train')
    os.remove(osp.join(images, 'test.txt'))
    with pytest.raises(FileNotFoundError, match=r'test.txt: OSCD city list'):
        OSCDDataset(data_root=root, split='test')


def test_levircd_bit_folder_stray_file_without_label(shared_data):
    # BIT-CD's sample folder holds a stray RGBA test_113_0256.png in A/ and
    # B/ with no label: listing the folder must name it, not skip it
    with pytest.raises(FileNotFoundError,
                       match=r'label/test_113_0256.png: missing label'):
        levir(osp.join(shared_data, BIT))
