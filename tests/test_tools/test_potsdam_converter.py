"""tools/dataset_converters/potsdam.py (SkySense Potsdam benchmark,
https://arxiv.org/abs/2312.10115). The official 6000x6000 tiles are not
available here: these tests write SYNTHETIC tiles in the official naming
(top_potsdam_<i>_<j>_RGB.tif, ..._label_noBoundary.tif) with random pixels
and the official ISPRS colours, and check the colour -> index conversion,
the crop positions, the split and the errors. The crops are compared with
mmseg's own converter function run on the same synthetic tile."""
import glob
import importlib.util
import os
import os.path as osp

import mmseg
import numpy as np
import pytest
from PIL import Image

from conftest import TOOLS

# colour -> expected label value (0 boundary, 1..6 classes, clutter = 6)
COLOURS = {(0, 0, 0): 0, (255, 255, 255): 1, (0, 0, 255): 2,
           (0, 255, 255): 3, (0, 255, 0): 4, (255, 255, 0): 5,
           (255, 0, 0): 6}
H, W = 1100, 1300  # not a multiple of 512: border crops shift inward


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conv = load_module('skysense_potsdam_converter',
                   osp.join(TOOLS, 'dataset_converters', 'potsdam.py'))


def write_tile(root, tile_id, seed=0, label_rgb=None, bands=3):
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    # random 4x4 blocks: cheap to encode, still distinct at every crop
    img = rng.integers(0, 256, (H // 4, W // 4, bands), dtype=np.uint8)
    img = img.repeat(4, 0).repeat(4, 1)
    Image.fromarray(img).save(
        osp.join(root, f'top_potsdam_{tile_id}_RGB.tif'))
    if label_rgb is None:
        palette = np.array(list(COLOURS), np.uint8)
        index = rng.integers(0, len(palette), (H // 4, W // 4))
        index = index.repeat(4, 0).repeat(4, 1)
        label_rgb = palette[index]
    Image.fromarray(label_rgb).save(
        osp.join(root, f'top_potsdam_{tile_id}_label_noBoundary.tif'))
    return img, label_rgb


def expected_values(label_rgb):
    out = np.full(label_rgb.shape[:2], 99, np.uint8)
    for colour, value in COLOURS.items():
        out[(label_rgb == colour).all(-1)] = value
    return out


@pytest.fixture(scope='module')
def tiles(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('potsdam_official'))
    img, lab = write_tile(root, '2_10', seed=1)  # a train tile
    write_tile(root, '2_13', seed=2)  # a val tile
    return root, img, lab


def crops(out, sub):
    return sorted(osp.basename(p)
                  for p in glob.glob(osp.join(out, sub, '*.png')))


def test_default_stride_512_positions_and_values(tiles, tmp_path):
    root, img, lab = tiles
    counts = conv.convert(root, str(tmp_path))
    # rows start 0, 512, 588 (=1100-512); columns 0, 512, 788 (=1300-512)
    names = [f'2_10_{x}_{y}_{x + 512}_{y + 512}.png'
             for y in (0, 512, 588) for x in (0, 512, 788)]
    assert crops(tmp_path, 'img_dir/train') == sorted(names)
    assert crops(tmp_path, 'ann_dir/train') == sorted(names)
    assert len(crops(tmp_path, 'img_dir/val')) == 9
    assert all(n.startswith('2_13_') for n in crops(tmp_path, 'ann_dir/val'))
    assert counts == {'train': 9, 'val': 9}
    values = expected_values(lab)
    for y in (0, 512, 588):
        for x in (0, 512, 788):
            name = f'2_10_{x}_{y}_{x + 512}_{y + 512}.png'
            got = np.asarray(Image.open(tmp_path / 'ann_dir/train' / name))
            np.testing.assert_array_equal(got, values[y:y + 512, x:x + 512])
            got = np.asarray(Image.open(tmp_path / 'img_dir/train' / name))
            np.testing.assert_array_equal(got, img[y:y + 512, x:x + 512])
    got = np.asarray(Image.open(
        tmp_path / 'ann_dir/train' / '2_10_0_0_512_512.png'))
    assert set(np.unique(got)) == set(range(7))


def test_stride_256_overlapping_crops(tiles, tmp_path):
    root, _, _ = tiles
    conv.main([root, '-o', str(tmp_path), '--stride', '256'])
    # rows 0, 256, 512, 588; columns 0, 256, 512, 768, 788
    assert len(crops(tmp_path, 'img_dir/train')) == 4 * 5
    assert '2_10_768_256_1280_768.png' in crops(tmp_path, 'ann_dir/train')


def test_same_crops_as_mmseg_converter(tiles, tmp_path):
    """mmseg's clip_big_image (stride_size 256 as its default) writes the
    same crops as our default stride 512 (it places windows at multiples of
    the clip size)."""
    root, _, _ = tiles
    ref = load_module('mmseg_potsdam_converter', osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'tools', 'dataset_converters',
        'potsdam.py'))
    args = ref.argparse.Namespace(clip_size=512, stride_size=256)
    for sub in ('img', 'ann'):
        os.makedirs(tmp_path / 'mmseg' / sub)
    ref.clip_big_image(osp.join(root, 'top_potsdam_2_10_RGB.tif'),
                       str(tmp_path / 'mmseg' / 'img'), args)
    ref.clip_big_image(osp.join(root, 'top_potsdam_2_10_label_noBoundary.tif'),
                       str(tmp_path / 'mmseg' / 'ann'), args, to_label=True)
    conv.convert(root, str(tmp_path / 'ours'))
    for theirs, ours in (('img', 'img_dir/train'), ('ann', 'ann_dir/train')):
        names = sorted(os.listdir(tmp_path / 'mmseg' / theirs))
        assert names == crops(tmp_path / 'ours', ours)
        for name in names:
            np.testing.assert_array_equal(
                np.asarray(Image.open(tmp_path / 'mmseg' / theirs / name)),
                np.asarray(Image.open(tmp_path / 'ours' / ours / name)))


def test_unknown_colour_is_an_error_naming_the_file(tmp_path):
    lab = np.zeros((H, W, 3), np.uint8)
    lab[5, 5] = (10, 20, 30)
    write_tile(str(tmp_path / 'in'), '3_10', label_rgb=lab)
    with pytest.raises(ValueError, match=r'top_potsdam_3_10_label_noBoundary'
                       r'\.tif: 1 label pixels .*\(10, 20, 30\)'):
        conv.convert(str(tmp_path / 'in'), str(tmp_path / 'out'))
    # opt-in: unknown colours become 0 (ignored)
    conv.convert(str(tmp_path / 'in'), str(tmp_path / 'out'),
                 unknown_to_ignore=True)
    got = np.asarray(Image.open(
        tmp_path / 'out' / 'ann_dir/train' / '3_10_0_0_512_512.png'))
    assert (got == 0).all()


def test_bad_inputs(tmp_path):
    write_tile(str(tmp_path / 'rgbir'), '4_10', bands=4)
    with pytest.raises(ValueError, match=r'top_potsdam_4_10_RGB\.tif: '
                       'expected 3 bands'):
        conv.convert(str(tmp_path / 'rgbir'), str(tmp_path / 'o1'))
    write_tile(str(tmp_path / 'nolabel'), '4_11')
    os.remove(tmp_path / 'nolabel' / 'top_potsdam_4_11_label_noBoundary.tif')
    with pytest.raises(FileNotFoundError, match=r'top_potsdam_4_11_RGB\.tif: '
                       'no noBoundary label'):
        conv.convert(str(tmp_path / 'nolabel'), str(tmp_path / 'o2'))
    (tmp_path / 'broken').mkdir()
    (tmp_path / 'broken' / 'top_potsdam_5_10_RGB.tif').write_bytes(b'x')
    (tmp_path / 'broken' /
     'top_potsdam_5_10_label_noBoundary.tif').write_bytes(b'x')
    with pytest.raises(ValueError, match=r'top_potsdam_5_10_RGB\.tif: '
                       'unreadable'):
        conv.convert(str(tmp_path / 'broken'), str(tmp_path / 'o3'))


def test_paper_config_reads_the_converted_tree(tiles, tmp_path):
    """The full config's val dataset loads our crops: 0 (boundary) -> 255,
    classes 1..6 -> 0..5."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope

    from conftest import ROOT
    root, _, lab = tiles
    conv.convert(root, str(tmp_path))
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs/benchmarks/seg/potsdam/'
        'skysense_swinv2-huge_upernet_80k_potsdam-512x512.py'))
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = str(tmp_path)
    init_default_scope('mmseg')
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 9  # the val tile 2_13
    ds_cfg.data_prefix = dict(img_path='img_dir/train',
                              seg_map_path='ann_dir/train')
    ds = DATASETS.build(ds_cfg)
    item = ds[0]  # 2_10_0_0_512_512
    assert item['data_samples'].img_path.endswith('2_10_0_0_512_512.png')
    seg = item['data_samples'].gt_sem_seg.data.numpy()[0]
    want = expected_values(lab)[:512, :512].astype(np.int64) - 1
    want[want < 0] = 255
    np.testing.assert_array_equal(seg, want)
