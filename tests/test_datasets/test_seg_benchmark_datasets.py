"""iSAID and ISPRS Potsdam datasets of the SkySense segmentation benchmark
(https://arxiv.org/abs/2312.10115) on the real samples in ../shared/data,
and their errors on bad input (written to tmp_path)."""
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.registry import DATASETS, init_default_scope
from PIL import Image

from skysense_mm.datasets import ISAIDDataset, PotsdamDataset

ISAID_SUB = ('iSAID/CAPTAIN-WHU__iSAID_Devkit/preprocess/dataset/iSAID/train/'
             'images')
POTSDAM_SUB = ('ISPRS-Potsdam/open-mmlab__mmsegmentation/tests/data/'
               'pseudo_potsdam_dataset')


def pipeline(**load_kw):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='skysense_mm.LoadCheckedSegAnnotations', **load_kw),
        dict(type='PackSegInputs')
    ]


def isaid_color(root, **kw):
    init_default_scope('mmseg')
    return DATASETS.build(dict(
        type='skysense_mm.ISAIDDataset', label_format='color',
        data_root=root, data_prefix=dict(img_path='.', seg_map_path='.'),
        pipeline=pipeline(), **kw))


def potsdam(root):
    init_default_scope('mmseg')
    return DATASETS.build(dict(
        type='skysense_mm.PotsdamDataset', data_root=root,
        data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
        pipeline=pipeline()))


def test_isaid_devkit_layout_real_sample(shared_data):
    ds = isaid_color(osp.join(shared_data, ISAID_SUB))
    assert isinstance(ds, ISAIDDataset)
    # the _instance_color/_instance_id masks are not listed as images
    assert len(ds) == 1 and ds[0]['data_samples'].img_path.endswith(
        'P0005.png')
    out = ds[0]
    assert out['inputs'].shape == (3, 977, 884)
    assert out['inputs'].dtype == torch.uint8
    seg = out['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 977, 884)
    # background, Large_Vehicle (0,127,127), Small_Vehicle (0,0,127)
    values, counts = np.unique(seg.numpy(), return_counts=True)
    assert values.tolist() == [0, 8, 9]
    assert counts.tolist() == [708285, 135058, 20325]
    assert len(ds.metainfo['classes']) == 16


def test_potsdam_real_sample(shared_data):
    ds = potsdam(osp.join(shared_data, POTSDAM_SUB))
    assert isinstance(ds, PotsdamDataset) and len(ds) == 1
    out = ds[0]
    assert out['inputs'].shape == (3, 512, 512)
    seg = out['data_samples'].gt_sem_seg.data.numpy()
    # stored 0..5 (0 boundary) -> reduce_zero_label -> 255, 0..4
    values, counts = np.unique(seg, return_counts=True)
    assert values.tolist() == [0, 1, 2, 3, 4, 255]
    assert counts[-1] == 24696
    assert ds.metainfo['classes'][-1] == 'clutter'


def test_potsdam_without_clutter_maps_it_to_ignore(tmp_path, shared_data):
    src = osp.join(shared_data, POTSDAM_SUB)
    root = tmp_path / 'p'
    shutil.copytree(src, root)
    lab = np.array(Image.open(next((root / 'ann_dir').glob('*.png'))))
    lab[:10] = 6  # clutter
    Image.fromarray(lab).save(next((root / 'ann_dir').glob('*.png')))
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(
        type='skysense_mm.PotsdamDataset', data_root=str(root),
        metainfo=dict(classes=PotsdamDataset.METAINFO['classes'][:5]),
        data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
        pipeline=pipeline()))
    seg = ds[0]['data_samples'].gt_sem_seg.data.numpy()[0]
    assert (seg[:10] == 255).all() and seg.max() == 255
    assert set(np.unique(seg)) <= {0, 1, 2, 3, 4, 255}


def write_pair(root, name, img_hw=(32, 32), label=None):
    root.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((*img_hw, 3), np.uint8)).save(root /
                                                          f'{name}.png')
    if label is not None:
        Image.fromarray(label).save(root / f'{name}_instance_color_RGB.png')


def test_isaid_unknown_colour_names_the_file(tmp_path):
    lab = np.zeros((32, 32, 3), np.uint8)
    lab[0, 0] = (1, 2, 3)
    write_pair(tmp_path, 'P9', label=lab)
    with pytest.raises(ValueError, match=r'P9_instance_color_RGB\.png.*'
                       r'outside the class palette.*\(1, 2, 3\)'):
        isaid_color(str(tmp_path))[0]


def test_isaid_index_label_value_outside_class_set(tmp_path):
    write_pair(tmp_path, 'P1', label=np.full((32, 32), 20, np.uint8))
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(
        type='skysense_mm.ISAIDDataset', label_format='index',
        data_root=str(tmp_path),
        data_prefix=dict(img_path='.', seg_map_path='.'),
        pipeline=pipeline()))
    with pytest.raises(ValueError, match=r'P1_instance_color_RGB\.png: label '
                       r'values \[20\] are outside the class set 0\.\.15'):
        ds[0]


def test_size_mismatch_names_both_files(tmp_path):
    write_pair(tmp_path, 'P2', img_hw=(32, 32),
               label=np.zeros((16, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r'P2_instance_color_RGB\.png: label '
                       r'size \(16, 32\) differs .*P2\.png'):
        isaid_color(str(tmp_path))[0]


def test_unreadable_label_names_the_file(tmp_path):
    write_pair(tmp_path, 'P3')
    (tmp_path / 'P3_instance_color_RGB.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match=r'P3_instance_color_RGB\.png: '
                       r'unreadable label file'):
        isaid_color(str(tmp_path))[0]


def test_missing_label_names_the_image(tmp_path):
    write_pair(tmp_path, 'P4')
    with pytest.raises(FileNotFoundError, match=r'P4\.png: no label file'):
        isaid_color(str(tmp_path))


def test_potsdam_colour_label_instead_of_index(tmp_path, shared_data):
    root = tmp_path / 'p'
    shutil.copytree(osp.join(shared_data, POTSDAM_SUB), root)
    ann = next((root / 'ann_dir').glob('*.png'))
    Image.fromarray(np.zeros((512, 512, 3), np.uint8)).save(ann)
    with pytest.raises(ValueError, match='single-channel index label'):
        potsdam(str(root))[0]


def test_isaid_rejects_reduce_zero_label():
    with pytest.raises(ValueError, match='reduce_zero_label'):
        ISAIDDataset(reduce_zero_label=True, lazy_init=True)


def test_explicit_palette_decodes_colour_labels(tmp_path):
    """The loader's own ``palette`` argument (here the 2-colour map of a
    made-up data set) decodes colour labels of any dataset."""
    lab = np.zeros((32, 32, 3), np.uint8)
    lab[:, 16:] = (255, 0, 0)
    write_pair(tmp_path, 'Q1', label=lab)
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(
        type='skysense_mm.ISAIDDataset', label_format='index',
        data_root=str(tmp_path),
        data_prefix=dict(img_path='.', seg_map_path='.'),
        pipeline=pipeline(palette=[(0, 0, 0), (255, 0, 0)])))
    seg = ds[0]['data_samples'].gt_sem_seg.data.numpy()[0]
    assert (seg[:, :16] == 0).all() and (seg[:, 16:] == 1).all()


def test_16bit_label_beyond_uint8_is_an_error(tmp_path):
    write_pair(tmp_path, 'P5')
    Image.fromarray(np.full((32, 32), 300, np.uint16)).save(
        tmp_path / 'P5_instance_color_RGB.png')
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(
        type='skysense_mm.ISAIDDataset', label_format='index',
        data_root=str(tmp_path),
        data_prefix=dict(img_path='.', seg_map_path='.'),
        pipeline=pipeline()))
    with pytest.raises(ValueError, match=r'P5_instance_color_RGB\.png: label '
                       r'values up to 300'):
        ds[0]
