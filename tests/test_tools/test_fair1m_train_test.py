"""The SkySense FAIR1M v2.0 benchmark configs
(https://arxiv.org/abs/2312.10115, Tab. 2b): the settings of the full
config, and the tiny config training 2 iterations on the real sample in the
official layout (../shared/data/FAIR1M/_assembled_official_layout) through
tools/train.py, then testing through tools/test.py on patches of the same
images written by tools/dataset_converters/fair1m_split.py: the metric
merges the patch detections back to the full images, prints the mAP
against the label XMLs and, with ``--out sub.zip``, writes the official
submission XMLs, which re-parse with the FAIR1M parser."""
import os.path as osp
import re
import sys
import zipfile

import numpy as np
import yaml
from mmengine.config import Config

from conftest import ROOT, TOOLS, run_tool
from skysense_mm.datasets.fair1m import FAIR1M_CLASSES, parse_fair1m_xml
from skysense_mm.structures.rotated_boxes import (qboxes_to_rboxes,
                                                  rboxes_to_qboxes)

sys.path.insert(0, osp.join(TOOLS, 'dataset_converters'))
import fair1m_split  # noqa: E402

DIR = osp.join(ROOT, 'configs', 'benchmarks', 'rdet', 'fair1m')
PAPER = osp.join(
    DIR, 'skysense_swinv2-huge_oriented-rcnn-le90_fpn_12e_fair1m-1024x1024.py')
TINY = osp.join(DIR, 'skysense_swinv2-tiny_oriented-rcnn-le90_fpn_2iters_'
               'fair1m-128x128.py')
LAYOUT = 'FAIR1M/_assembled_official_layout/train/part1'


def test_paper_settings():
    cfg = Config.fromfile(PAPER)
    assert cfg.default_scope == 'mmrotate'
    assert cfg.custom_imports.imports == ['skysense_mm']
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-4, 0.05)
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.param_scheduler[1].milestones == [8, 11]
    assert cfg.model.backbone.type == 'skysense_mm.SkySenseSwinV2'
    assert cfg.model.backbone.arch == 'huge'
    assert cfg.model.neck.in_channels == [352, 704, 1408, 2816]
    assert cfg.model.roi_head.bbox_head.num_classes == 37
    assert cfg.model.rpn_head.type == 'OrientedRPNHead'
    assert cfg.model.rpn_head.bbox_coder.angle_version == 'le90'
    assert cfg.train_dataloader.dataset.datasets[0].type == \
        'skysense_mm.FAIR1MDataset'
    assert cfg.val_evaluator.type == 'skysense_mm.FAIR1MMetric'
    assert cfg.val_evaluator.merge_patches and cfg.val_evaluator.iou_thr == 0.1
    assert cfg.test_evaluator.ann_dir is None  # test split: submission only


def test_metafile_lists_every_config():
    with open(osp.join(DIR, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    names = [m['Name'] for m in meta['Models']]
    assert sorted(n + '.py' for n in names) == sorted(
        osp.basename(p) for p in (PAPER, TINY))
    for model in meta['Models']:
        assert osp.isfile(osp.join(ROOT, model['Config']))
        assert model['In Collection'] == meta['Collections'][0]['Name']
    (res, ), = [m['Results'] for m in meta['Models'] if 'Results' in m]
    assert res['Dataset'] == 'FAIR1M v2.0'
    assert res['Metrics'] == {'mAP': 54.57} and 'paper' in res['Note']


def test_tiny_train_and_test_on_real_sample(tmp_path, shared_data):
    root = osp.join(shared_data, LAYOUT)
    work = str(tmp_path / 'work')
    out = run_tool('train.py', TINY, '--work-dir', work, '--cfg-options',
                   f'train_dataloader.dataset.data_root={root}')
    assert 'Iter(train) [2/2]' in out
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)

    split = str(tmp_path / 'split')
    stats = fair1m_split.split_folder(
        osp.join(root, 'images'), split, osp.join(root, 'labelXml'),
        size=600, gap=200)
    assert stats['patches'] == 8
    sub = str(tmp_path / 'sub.zip')
    out = run_tool(
        'test.py', TINY, ckpt, '--work-dir', work, '--out', sub,
        '--cfg-options', f'test_dataloader.dataset.data_root={split}',
        'test_dataloader.dataset.ann_file=annfiles',
        'test_dataloader.dataset.img_suffix=png',
        'test_dataloader.dataset.img_shape=(600,600)',
        f'test_evaluator.ann_dir={osp.join(root, "labelXml")}',
        # an untrained model scores ~1/38 per class: keep its boxes
        'model.test_cfg.rcnn.score_thr=0.0')
    m = re.search(r'Iter\(test\) \[8/8\].*fair1m/mAP: ([\d.]+)\s+'
                  r'fair1m/AP50: ([\d.]+)', out)
    assert m, out[-3000:]
    print('FAIR1M tiny test mAP:', m.group(1))
    assert 0.0 <= float(m.group(1)) <= 1.0
    # ground truth of the 2 full images (1.xml: 46 Cargo Trucks, one of them
    # a degenerate polygon, skipped)
    assert re.search(r'\| Cargo Truck\s+\| 45\s+\|', out)
    assert re.search(r'\| Small Car\s+\| 36\s+\|', out)
    assert 'FAIR1M submission: 2 XML files written' in out
    with zipfile.ZipFile(sub) as zf:
        assert sorted(zf.namelist()) == ['1.xml', '100.xml']
        zf.extractall(tmp_path / 'sub')
    total = 0
    for name in ('1', '100'):
        ann = parse_fair1m_xml(str(tmp_path / 'sub' / f'{name}.xml'))
        assert ann['filename'] == f'{name}.tif'
        n = len(ann['names'])
        total += n
        assert set(ann['names']) <= set(FAIR1M_CLASSES)
        assert ((ann['scores'] >= 0) & (ann['scores'] <= 1)).all()
        assert (np.diff(ann['scores']) <= 1e-6).all()  # score-sorted
        # the corners are rotated rectangles written to 6 decimals
        rboxes = qboxes_to_rboxes(ann['qboxes'])
        np.testing.assert_allclose(
            qboxes_to_rboxes(rboxes_to_qboxes(rboxes)), rboxes, atol=1e-2)
    assert total > 0
