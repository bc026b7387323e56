"""AIDDataset / RESISC45Dataset (SkySense, https://arxiv.org/abs/2312.10115,
Tab. 3) on the real samples of ../shared/data (AID: 30 classes x 1 image,
150x150; NWPU-RESISC45: 2 of the 45 class folders, 1 image each, 256x256),
with make_cls_split.py-style split files, and their errors on bad input
(synthetic trees in the official folder-per-class layout)."""
import os
import os.path as osp

import pytest
from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
from PIL import Image

from skysense_mm.datasets import AIDDataset, RESISC45Dataset
from skysense_mm.datasets.scene_cls import AID_CLASSES, RESISC45_CLASSES
from skysense_mm.registry import DATASETS

AID_SAMPLE = 'AID/zlima__testtensor/AID'
RESISC_SAMPLE = ('NWPU-RESISC45/tensorflow__datasets/tensorflow_datasets/'
                 'testing/test_data/fake_examples/resisc45/NWPU-RESISC45')


def test_class_lists():
    assert len(AID_CLASSES) == 30 and len(RESISC45_CLASSES) == 45
    assert list(AID_CLASSES) == sorted(AID_CLASSES)
    assert list(RESISC45_CLASSES) == sorted(RESISC45_CLASSES)
    assert AID_CLASSES[:3] == ('Airport', 'BareLand', 'BaseballField')
    assert RESISC45_CLASSES[12] == 'desert'
    assert RESISC45_CLASSES[19] == 'intersection'
    assert AIDDataset.METAINFO['classes'] == AID_CLASSES
    assert issubclass(AIDDataset, CustomDataset)
    assert DATASETS.get('AIDDataset') is AIDDataset
    assert DATASETS.get('RESISC45Dataset') is RESISC45Dataset


def test_aid_real_sample_tree(shared_data):
    root = osp.join(shared_data, AID_SAMPLE)
    # built by type name as a config does (mmpretrain scope)
    ds = MMPRETRAIN_DATASETS.build(
        dict(type='skysense_mm.AIDDataset', data_root=root,
             pipeline=[dict(type='LoadImageFromFile')]))
    assert isinstance(ds, AIDDataset)
    assert len(ds) == 30
    assert ds.metainfo['classes'] == AID_CLASSES
    infos = [ds.get_data_info(i) for i in range(30)]
    assert [i['gt_label'] for i in infos] == list(range(30))
    assert infos[1]['img_path'] == osp.join(root, 'BareLand',
                                            'bareland_1.jpg')
    sample = ds[29]
    assert sample['img'].shape == (150, 150, 3)
    assert sample['gt_label'] == 29
    assert sample['img_path'].endswith('Viaduct/viaduct_1.jpg')


def test_resisc45_real_sample_with_split_file(shared_data, tmp_path):
    root = osp.join(shared_data, RESISC_SAMPLE)
    with pytest.raises(ValueError, match='no folder for the official'):
        RESISC45Dataset(data_root=root)
    ds = RESISC45Dataset(data_root=root, allow_missing_classes=True)
    assert [(osp.basename(d['img_path']), d['gt_label'])
            for d in ds.load_data_list()] == [('desert_570.jpg', 12),
                                              ('intersection_172.jpg', 19)]
    split = tmp_path / 'train.txt'
    split.write_text('intersection/intersection_172.jpg 19\n')
    ds = RESISC45Dataset(data_root=root, ann_file=str(split),
                         pipeline=[dict(type='LoadImageFromFile')])
    assert len(ds) == 1 and ds[0]['gt_label'] == 19
    assert ds[0]['img'].shape == (256, 256, 3)
    assert len(ds.metainfo['classes']) == 45


def _tree(root, classes=AID_CLASSES):
    img = Image.new('RGB', (8, 8))
    for c in classes:
        os.makedirs(osp.join(root, c))
        img.save(osp.join(root, c, f'{c.lower()}_1.jpg'))
    return root


def test_unknown_class_folder_names_the_folder(tmp_path):
    root = _tree(str(tmp_path / 'AID'))
    os.makedirs(osp.join(root, 'Harbor'))
    with pytest.raises(ValueError, match=r"AID/Harbor: folder 'Harbor' is "
                       'not one of the 30 official classes'):
        AIDDataset(data_root=root)


def test_split_file_errors_name_file_and_line(tmp_path):
    root = _tree(str(tmp_path / 'AID'))
    ann = tmp_path / 'split.txt'

    def build(text):
        ann.write_text(text)
        return AIDDataset(data_root=root, ann_file=str(ann))

    assert len(build('Pond/pond_1.jpg 19\n\nPort/port_1.jpg 20\n')) == 2
    with pytest.raises(FileNotFoundError,
                       match=r'split.txt, line 2 .*Pond/pond_7.jpg does not'):
        build('Pond/pond_1.jpg 19\nPond/pond_7.jpg 19\n')
    with pytest.raises(ValueError, match=r"line 1 .*label 20 is 'Port' but "
                       "the file is in folder 'Pond'"):
        build('Pond/pond_1.jpg 20\n')
    with pytest.raises(ValueError, match=r"line 1 .*folder 'Harbour' is not"):
        build('Harbour/harbour_1.jpg 3\n')
    with pytest.raises(ValueError, match='label 30 out of range'):
        build('Pond/pond_1.jpg 30\n')
    with pytest.raises(ValueError, match='expected "<Class>/<file> <label>"'):
        build('Pond/pond_1.jpg\n')
    with pytest.raises(ValueError, match='listed twice'):
        build('Pond/pond_1.jpg 19\nPond/pond_1.jpg 19\n')
    with pytest.raises(ValueError, match='split.txt: split file lists no'):
        build('\n')


def test_class_list_cannot_be_overridden(tmp_path):
    root = _tree(str(tmp_path / 'AID'))
    with pytest.raises(ValueError, match='official one'):
        AIDDataset(data_root=root, metainfo=dict(classes=('a', 'b')))
