"""The SkySense iSAID benchmark configs (https://arxiv.org/abs/2312.10115,
Tab. 2a): the paper settings of the full config, and the tiny config
training 2 iterations and testing through tools/train.py / tools/test.py on
the real devkit sample in ../shared/data."""
import os.path as osp
import re

from mmengine.config import Config

from conftest import ROOT, run_tool

DIR = osp.join(ROOT, 'configs', 'benchmarks', 'seg', 'isaid')
PAPER = osp.join(DIR, 'skysense_swinv2-huge_upernet_80k_isaid-896x896.py')
TINY = osp.join(DIR, 'skysense_swinv2-tiny_upernet_2iters_isaid-128x128.py')
ISAID_ROOT = 'iSAID/CAPTAIN-WHU__iSAID_Devkit/preprocess/dataset/iSAID'


def test_paper_settings():
    cfg = Config.fromfile(PAPER)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 6e-5, 0.01)
    warmup, poly = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.end == 1500
    assert poly.type == 'PolyLR' and (poly.begin, poly.end) == (1500, 80000)
    assert cfg.train_cfg.max_iters == 80000
    assert cfg.crop_size == (896, 896)
    assert cfg.model.data_preprocessor.size == (896, 896)
    assert cfg.model.backbone.type == 'skysense_mm.SkySenseSwinV2'
    assert cfg.model.backbone.arch == 'huge'
    assert cfg.model.decode_head.type == 'UPerHead'
    assert cfg.model.decode_head.in_channels == [352, 704, 1408, 2816]
    assert cfg.model.decode_head.num_classes == 16
    assert cfg.val_evaluator == dict(type='IoUMetric', iou_metrics=['mIoU'])
    assert cfg.train_dataloader.dataset.type == 'skysense_mm.ISAIDDataset'

run = run_tool


def test_tiny_train_and_test_on_real_sample(tmp_path, shared_data):
    data_root = osp.join(shared_data, ISAID_ROOT)
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}']
    work = str(tmp_path / 'work')
    out = run('train.py', TINY, '--work-dir', work, *opts)
    assert 'Iter(train) [2/2]' in out
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    out = run('test.py', TINY, ckpt, '--work-dir', work, *opts)
    m = re.search(r'Iter\(test\) \[1/1\].*aAcc: ([\d.]+)\s+mIoU: ([\d.]+)',
                  out)
    assert m, out[-3000:]
    assert 0.0 <= float(m.group(2)) <= 100.0
    # all 16 classes are reported (NaN for those absent from P0005)
    assert 'Small_Vehicle' in out and 'Harbor' in out
