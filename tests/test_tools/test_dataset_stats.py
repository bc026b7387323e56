"""tools/analysis_tools/dataset_stats.py (https://arxiv.org/abs/2312.10115
benchmarks): per-class statistics of a config's split through its pipeline,
on the real samples of ../shared/data: iSAID (pixels per class), LEVIR-CD
(change pixels), AID via an MMPretrain config (samples per class), DIOR via
an MMDetection VOC config and DOTA via an MMRotate config (instances per
class). The DIOR / DOTA configs and their VOC / DOTA folder are written into
tmp_path around the real files (real XML / label txt and image)."""
import os
import os.path as osp
import re
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, TOOLS, run_tool

sys.path.insert(0, osp.join(TOOLS, 'analysis_tools'))
import dataset_stats  # noqa: E402

ISAID_CFG = osp.join(ROOT, 'configs', 'benchmarks', 'seg', 'isaid',
                     'skysense_swinv2-tiny_upernet_2iters_isaid-128x128.py')
LEVIR_CFG = osp.join(
    ROOT, 'configs', 'benchmarks', 'cd', 'levircd',
    'skysense_swinv2-tiny_siamese-upernet_2iters_levircd-64x64.py')
AID_CFG = osp.join(ROOT, 'tests', 'data', 'stock_configs',
                   'mmpretrain_aid_tiny.py')
ISAID = 'iSAID/CAPTAIN-WHU__iSAID_Devkit/preprocess/dataset/iSAID'


def run_stats(*args):
    """Run the tool in-process; returns its printed lines."""
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        dataset_stats.main([str(a) for a in args])
    return buf.getvalue().splitlines()


def histogram(lines):
    """{class name: count} from the report lines."""
    out = {}
    for ln in lines:
        m = re.match(r'\s+(\d+) (\S+)\s+(\d+)\s+[\d.]+%$', ln)
        if m:
            out[m.group(2)] = int(m.group(3))
    return out


def test_isaid_pixels_equal_direct_count(shared_data):
    from skysense_mm.datasets.isaid import ISAID_PALETTE, ISAIDDataset
    root = osp.join(shared_data, ISAID)
    lines = run_stats(ISAID_CFG, '--split', 'test', '--cfg-options',
                      f'test_dataloader.dataset.data_root={root}')
    assert lines[-1] == 'samples=1'
    hist = histogram(lines)
    classes = ISAIDDataset.METAINFO['classes']
    assert list(hist) == list(classes)
    # decode the devkit colour label of P0005 directly
    rgb = np.asarray(Image.open(osp.join(
        root, 'train', 'images', 'P0005_instance_color_RGB.png')).convert(
            'RGB'))
    direct = {name: int(np.all(rgb == np.array(color), axis=-1).sum())
              for name, color in zip(classes, ISAID_PALETTE)}
    assert hist == direct
    assert sum(direct.values()) == rgb.shape[0] * rgb.shape[1]
    assert hist['Large_Vehicle'] > 0 and hist['Small_Vehicle'] > 0
    assert '  ignore 0' in lines


def test_levircd_change_pixels(shared_data):
    root = osp.join(shared_data, 'LEVIR-CD/KyanChen__TTP/samples')
    lines = run_stats(LEVIR_CFG, '--split', 'test', '--cfg-options',
                      f'test_dataloader.dataset.data_root={root}')
    assert lines[-1] == 'samples=2'
    labels = [np.asarray(Image.open(osp.join(root, 'label', f)))
              for f in ('test_1.png', 'test_2.png')]
    changed = sum(int((lb == 255).sum()) for lb in labels)
    total = sum(lb.size for lb in labels)
    counts = list(histogram(lines).values())
    assert counts == [total - changed, changed]
    # --max-samples
    lines = run_stats(LEVIR_CFG, '--split', 'test', '--max-samples', 1,
                      '--cfg-options',
                      f'test_dataloader.dataset.data_root={root}')
    assert lines[-1] == 'samples=1'
    assert sum(histogram(lines).values()) == labels[0].size


def test_aid_classification_samples_per_class(shared_data):
    aid = osp.join(shared_data, 'AID', 'zlima__testtensor', 'AID')
    lines = run_stats(AID_CFG, '--split', 'train', '--cfg-options',
                      f'train_dataloader.dataset.data_root={aid}')
    assert lines[-1] == 'samples=30'
    hist = histogram(lines)
    assert sorted(hist) == sorted(os.listdir(aid))
    assert set(hist.values()) == {1}
    assert any('task=classification' in ln for ln in lines)


DIOR_CLASSES = (
    'airplane', 'airport', 'baseballfield', 'basketballcourt', 'bridge',
    'chimney', 'dam', 'Expressway-Service-area', 'Expressway-toll-station',
    'golffield', 'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium',
    'storagetank', 'tenniscourt', 'trainstation', 'vehicle', 'windmill')


def test_dior_voc_detection_instances(shared_data, tmp_path):
    """MMDetection VOCDataset on the real DIOR image 00001 + official HBB
    XML (one golffield), copied into a VOC2007 folder."""
    dior = osp.join(shared_data, 'DIOR')
    voc = tmp_path / 'VOC2007'
    for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        os.makedirs(voc / sub)
    shutil.copy(osp.join(dior, 'zhuyuerong__rsclip/datasets/DIOR/annotations/'
                         'horizontal/00001.xml'), voc / 'Annotations')
    shutil.copy(osp.join(dior, 'open-mmlab__mmrotate@1.x/tests/data/dior/'
                         'JPEGImage/00001.jpg'), voc / 'JPEGImages')
    (voc / 'ImageSets/Main/test.txt').write_text('00001\n')
    cfg = tmp_path / 'dior_voc.py'
    cfg.write_text(f"""
default_scope = 'mmdet'
META = ('img_id', 'img_path', 'ori_shape', 'img_shape')
test_dataloader = dict(batch_size=1, dataset=dict(
    type='VOCDataset', data_root={str(tmp_path)!r},
    ann_file='VOC2007/ImageSets/Main/test.txt',
    data_prefix=dict(sub_data_root='VOC2007/'),
    metainfo=dict(classes={DIOR_CLASSES!r}), test_mode=True,
    pipeline=[dict(type='LoadImageFromFile'),
              dict(type='LoadAnnotations', with_bbox=True),
              dict(type='PackDetInputs', meta_keys=META)]))
""")
    lines = run_stats(cfg, '--split', 'test')
    assert lines[-1] == 'samples=1'
    hist = histogram(lines)
    assert list(hist) == list(DIOR_CLASSES)
    assert hist['golffield'] == 1 and sum(hist.values()) == 1
    assert 'total instances=1' in lines


def test_dota_rotated_instances(shared_data, tmp_path):
    """MMRotate DOTADataset on the real DOTA v1.0 P1888 (image + official
    label txt: 50 large-vehicle, 14 small-vehicle)."""
    src = osp.join(shared_data, 'DOTA/CAPTAIN-WHU__DOTA_devkit/example')
    # mmrotate 1.0.0rc1 DOTADataset cannot parse the official v1.0 header
    # lines (imagesource:, gsd:) that its split tool strips: drop them
    root = tmp_path / 'dota'
    os.makedirs(root / 'labelTxt')
    os.symlink(osp.join(src, 'images'), root / 'images')
    with open(osp.join(src, 'labelTxt', 'P1888.txt')) as f:
        objects = [ln for ln in f if len(ln.split()) >= 9]
    (root / 'labelTxt' / 'P1888.txt').write_text(''.join(objects))
    cfg = tmp_path / 'dota.py'
    cfg.write_text(f"""
default_scope = 'mmrotate'
META = ('img_id', 'img_path', 'ori_shape', 'img_shape')
val_dataloader = dict(batch_size=1, dataset=dict(
    type='DOTADataset', data_root={str(root)!r}, ann_file='labelTxt/',
    data_prefix=dict(img_path='images/'), test_mode=True,
    pipeline=[dict(type='mmdet.LoadImageFromFile'),
              dict(type='mmdet.LoadAnnotations', with_bbox=True,
                   box_type='qbox'),
              dict(type='ConvertBoxType', box_type_mapping=dict(
                  gt_bboxes='rbox')),
              dict(type='mmdet.PackDetInputs', meta_keys=META)]))
""")
    lines = run_stats(cfg, '--split', 'val')
    assert lines[-1] == 'samples=1'
    hist = histogram(lines)
    with open(osp.join(src, 'labelTxt', 'P1888.txt')) as f:
        names = [ln.split()[8] for ln in f if len(ln.split()) >= 9]
    assert hist['large-vehicle'] == names.count('large-vehicle') == 50
    assert hist['small-vehicle'] == names.count('small-vehicle') == 14
    assert sum(hist.values()) == 64


def test_missing_split_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match='val_dataloader.dataset is missing'):
        run_stats(ISAID_CFG, '--split', 'val')


def test_cli_last_line(shared_data):
    root = osp.join(shared_data, 'LEVIR-CD/KyanChen__TTP/samples')
    out = run_tool('analysis_tools/dataset_stats.py', LEVIR_CFG, '--split',
                   'test', '--max-samples', '1', '--cfg-options',
                   f'test_dataloader.dataset.data_root={root}')
    assert out.strip().splitlines()[-1] == 'samples=1'


def test_multilabel_and_bad_label_counting():
    """Multi-label samples count once per present class; a segmentation
    label outside the class set is an error naming the label file."""
    from collections import Counter

    import torch
    from mmengine.structures import PixelData
    from mmpretrain.structures import DataSample
    from mmseg.structures import SegDataSample
    stats = dict(main=Counter(), ignored=Counter(), num_classes=5)
    s = DataSample().set_gt_label([1, 3])
    assert dataset_stats.count_sample(dict(data_samples=s), stats,
                                      255) == 'classification'
    s = DataSample().set_gt_score(torch.tensor([0., 1., 0., 0., 1.]))
    dataset_stats.count_sample(dict(data_samples=s), stats, 255)
    assert stats['main'] == Counter({1: 2, 3: 1, 4: 1})
    seg = SegDataSample(metainfo=dict(seg_map_path='/d/ann/x.png'))
    seg.gt_sem_seg = PixelData(data=torch.tensor([[[0, 255], [7, 1]]]))
    with pytest.raises(ValueError, match=r'/d/ann/x.png: label value 7'):
        dataset_stats.count_sample(dict(data_samples=seg), stats, 255)
