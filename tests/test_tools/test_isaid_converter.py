"""tools/dataset_converters/isaid.py on the real iSAID devkit sample P0005
(977x884): the protocol's 896 tiles with overlap 384 (stride 512) of SkySense
(https://arxiv.org/abs/2312.10115), identical to mmseg's converter."""
import glob
import importlib.util
import os
import os.path as osp
import shutil
import types

import mmseg
import numpy as np
import pytest
from PIL import Image

from conftest import TOOLS


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conv = load_module('skysense_isaid_converter',
                   osp.join(TOOLS, 'dataset_converters', 'isaid.py'))

ISAID_SUB = 'iSAID/CAPTAIN-WHU__iSAID_Devkit/preprocess/dataset/iSAID'
# P0005 is 977 (H) x 884 (W): the width is padded to 896 (label 255), rows
# start at 0 and 512 -> 512 + 896 > 977 is shifted to 977 - 896 = 81.
EXPECTED_TILES = ['P0005_0_896_0_896', 'P0005_81_977_0_896']


@pytest.fixture(scope='module')
def converted(tmp_path_factory, shared_data):
    out = str(tmp_path_factory.mktemp('isaid_out'))
    counts = conv.convert(osp.join(shared_data, ISAID_SUB), out)
    return out, counts


def test_tile_count_and_positions(converted, shared_data):
    out, counts = converted
    assert counts == {'train': 2, 'test': 1}
    imgs = sorted(osp.basename(p)[:-4]
                  for p in glob.glob(osp.join(out, 'img_dir/train/*.png')))
    assert imgs == EXPECTED_TILES
    anns = sorted(osp.basename(p) for p in glob.glob(
        osp.join(out, 'ann_dir/train/*.png')))
    assert anns == [t + '_instance_color_RGB.png' for t in EXPECTED_TILES]
    # test images copied whole (no public labels)
    assert os.listdir(osp.join(out, 'img_dir/test')) == ['P0006.png']
    src = np.asarray(Image.open(osp.join(shared_data, ISAID_SUB,
                                         'train/images/P0005.png')))
    tile = np.asarray(Image.open(
        osp.join(out, 'img_dir/train/P0005_81_977_0_896.png')))
    assert tile.shape == (896, 896, 3)
    np.testing.assert_array_equal(tile[:, :884], src[81:977])
    assert (tile[:, 884:] == 0).all()


def test_label_values_and_padding(converted):
    out, _ = converted
    for name in EXPECTED_TILES:
        lab = np.asarray(Image.open(osp.join(
            out, 'ann_dir/train', name + '_instance_color_RGB.png')))
        assert lab.shape == (896, 896) and lab.dtype == np.uint8
        assert set(np.unique(lab)) <= set(range(16)) | {255}
        assert set(np.unique(lab)) == {0, 8, 9, 255}
        assert (lab[:, 884:] == 255).all() and (lab[:, :884] != 255).all()


def test_same_labels_as_mmseg_converter(converted, shared_data, tmp_path):
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools',
                    'dataset_converters', 'isaid.py')
    ref = load_module('mmseg_isaid_converter', path)
    # mmseg saves `Image.fromarray(label, mode='P')` without a palette, which
    # the installed Pillow (13) writes with re-numbered palette indices (0, 8,
    # 9, 255 read back as 0, 1, ...): compare the arrays mmseg computes, saved
    # as plain 'L' like ours.
    ref.Image = types.SimpleNamespace(
        fromarray=lambda arr, mode=None: Image.fromarray(arr))
    os.makedirs(tmp_path / 'ann_dir' / 'train')
    ref.slide_crop_label(
        osp.join(shared_data, ISAID_SUB,
                 'train/images/P0005_instance_color_RGB.png'),
        str(tmp_path), 'train', 896, 896, 384)
    out, _ = converted
    theirs = sorted(os.listdir(tmp_path / 'ann_dir' / 'train'))
    assert theirs == sorted(os.listdir(osp.join(out, 'ann_dir/train')))
    for name in theirs:
        np.testing.assert_array_equal(
            np.asarray(Image.open(tmp_path / 'ann_dir' / 'train' / name)),
            np.asarray(Image.open(osp.join(out, 'ann_dir/train', name))))


def test_cli_and_missing_label(tmp_path, shared_data):
    root = tmp_path / 'iSAID' / 'val' / 'images'
    root.mkdir(parents=True)
    shutil.copy(osp.join(shared_data, ISAID_SUB, 'train/images/P0005.png'),
                root)
    with pytest.raises(FileNotFoundError, match=r'P0005\.png: no semantic '
                       'label'):
        conv.main([str(tmp_path / 'iSAID'), '-o', str(tmp_path / 'out')])


def test_paper_config_reads_the_converted_tree(converted):
    """The full config's dataset (label_format='index') loads our tiles."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope

    from conftest import ROOT
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs/benchmarks/seg/isaid/'
        'skysense_swinv2-huge_upernet_80k_isaid-896x896.py'))
    out, _ = converted
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = out
    ds_cfg.data_prefix = dict(img_path='img_dir/train',
                              seg_map_path='ann_dir/train')
    init_default_scope('mmseg')
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 2
    item = ds[0]
    assert item['inputs'].shape == (3, 896, 896)
    seg = item['data_samples'].gt_sem_seg.data
    assert set(np.unique(seg.numpy())) == {0, 8, 9, 255}
