"""The SkySense DIOR (Faster R-CNN) and DIOR-R (Oriented R-CNN le90)
benchmark configs (https://arxiv.org/abs/2312.10115, Tab. 2b): the paper
settings of the full configs, the metafiles, and the tiny configs training
2 iterations and testing through tools/train.py / tools/test.py on the real
image 00001 and its official XMLs in ../shared/data/DIOR (the DIOR-R tiny
run is in test_dior_r_train_test.py: one file would exceed 120 s)."""
import glob
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

from conftest import ROOT, run_tool

DET = osp.join(ROOT, 'configs', 'benchmarks', 'det', 'dior')
RDET = osp.join(ROOT, 'configs', 'benchmarks', 'rdet', 'dior-r')
DIOR_PAPER = osp.join(
    DET, 'skysense_swinv2-huge_faster-rcnn_fpn_12e_dior-800x800.py')
DIOR_TINY = osp.join(
    DET, 'skysense_swinv2-tiny_faster-rcnn_fpn_2iters_dior-128x128.py')
DIORR_PAPER = osp.join(
    RDET, 'skysense_swinv2-huge_oriented-rcnn-le90_fpn_12e_dior-r-800x800.py')


def _check_paper_schedule(cfg):
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-4, 0.05)
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.train_cfg.max_epochs == 12
    warmup, steps = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and not warmup.by_epoch
    assert steps.type == 'MultiStepLR' and steps.milestones == [8, 11]
    assert cfg.model.backbone.type == 'skysense_mm.SkySenseSwinV2'
    assert cfg.model.backbone.arch == 'huge'
    assert cfg.model.neck.in_channels == [352, 704, 1408, 2816]
    assert cfg.model.roi_head.bbox_head.num_classes == 20
    assert cfg.custom_imports.imports == ['skysense_mm']
    train = cfg.train_dataloader.dataset
    assert train.type == 'ConcatDataset'
    assert [d.ann_file for d in train.datasets] == [
        'ImageSets/Main/train.txt', 'ImageSets/Main/val.txt']
    assert {d.data_prefix.img_path for d in train.datasets} == {
        'JPEGImages-trainval'}
    test = cfg.test_dataloader.dataset
    assert test.ann_file == 'ImageSets/Main/test.txt'
    assert test.data_prefix.img_path == 'JPEGImages-test'
    return train.datasets[0], test


def test_dior_paper_settings():
    cfg = Config.fromfile(DIOR_PAPER)
    assert cfg.default_scope == 'mmdet'
    assert cfg.model.type == 'FasterRCNN'
    train, test = _check_paper_schedule(cfg)
    assert train.type == test.type == 'skysense_mm.DIORDataset'
    assert test.data_prefix.ann_path == 'Annotations/Horizontal Bounding Boxes'
    assert cfg.test_evaluator == dict(type='VOCMetric', metric='mAP',
                                      iou_thrs=0.5, eval_mode='11points')


def test_dior_r_paper_settings():
    cfg = Config.fromfile(DIORR_PAPER)
    assert cfg.default_scope == 'mmrotate'
    assert cfg.model.type == 'mmdet.FasterRCNN'
    assert cfg.model.rpn_head.type == 'OrientedRPNHead'
    assert cfg.model.rpn_head.bbox_coder.angle_version == 'le90'
    assert cfg.model.roi_head.bbox_head.bbox_coder.angle_version == 'le90'
    train, test = _check_paper_schedule(cfg)
    assert train.type == test.type == 'skysense_mm.DIORRDataset'
    assert test.data_prefix.ann_path == 'Annotations/Oriented Bounding Boxes'
    assert cfg.test_evaluator == dict(type='DOTAMetric', metric='mAP',
                                      iou_thrs=0.5, eval_mode='11points')


@pytest.mark.parametrize('folder, dataset, metric, value', [
    (DET, 'DIOR', 'mAP50', 78.73), (RDET, 'DIOR-R', 'mAP', 74.27)])
def test_metafile(folder, dataset, metric, value):
    with open(osp.join(folder, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    listed, paper = set(), []
    for model in meta['Models']:
        cfg_path = osp.join(ROOT, model['Config'])
        assert osp.isfile(cfg_path), cfg_path
        assert model['Name'] == osp.splitext(osp.basename(cfg_path))[0]
        listed.add(cfg_path)
        for res in model.get('Results') or []:
            assert 'paper' in res['Note']
            paper.append((res['Dataset'], res['Metrics']))
    assert paper == [(dataset, {metric: value})]
    assert listed == set(glob.glob(osp.join(folder, '*.py')))


def _train_and_test(cfg, data_root, tmp_path):
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}']
    work = str(tmp_path / 'work')
    out = run_tool('train.py', cfg, '--work-dir', work, *opts)
    assert 'Iter(train) [2/2]' in out
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    return run_tool('test.py', cfg, ckpt, '--work-dir', work, *opts)


def test_dior_tiny_train_and_test_on_real_sample(tmp_path, shared_data):
    out = _train_and_test(DIOR_TINY, osp.join(shared_data, 'DIOR'), tmp_path)
    m = re.search(r'Iter\(test\) \[1/1\].*pascal_voc/mAP: ([\d.]+)', out)
    assert m, out[-3000:]
    assert 0.0 <= float(m.group(1)) <= 1.0
    # per-class table: the one golffield object of image 00001 is counted
    assert re.search(r'\| golffield\s+\| 1\s+\|', out), out[-3000:]



@pytest.mark.parametrize('cfg, reg_out', [(DIOR_PAPER, 20 * 4),
                                          (DIORR_PAPER, 5)])
def test_paper_model_builds_on_meta(cfg, reg_out):
    """The full-size Swin-V2-H + FPN + (Oriented) R-CNN wiring, built on the
    meta device (no memory)."""
    from skysense_mm.models.utils.meta_build import build_model_on_meta
    model = build_model_on_meta(cfg)
    assert type(model.backbone).__name__ == 'SkySenseSwinV2'
    assert [c.conv.in_channels for c in model.neck.lateral_convs] == [
        352, 704, 1408, 2816]
    head = model.roi_head.bbox_head
    assert head.fc_cls.out_features == 21  # 20 classes + background
    assert head.fc_reg.out_features == reg_out
    assert all(p.is_meta for p in model.parameters())
