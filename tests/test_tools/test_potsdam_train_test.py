"""The SkySense Potsdam benchmark configs (https://arxiv.org/abs/2312.10115,
Tab. 2a, mF1 without clutter): the documented settings of the full config,
and the tiny config training 2 iterations and testing through
tools/train.py / tools/test.py on the real 512 crop in ../shared/data."""
import os.path as osp
import re

from mmengine.config import Config

from conftest import ROOT, run_tool

DIR = osp.join(ROOT, 'configs', 'benchmarks', 'seg', 'potsdam')
PAPER = osp.join(DIR, 'skysense_swinv2-huge_upernet_80k_potsdam-512x512.py')
TINY = osp.join(DIR, 'skysense_swinv2-tiny_upernet_2iters_potsdam-64x64.py')
POTSDAM_ROOT = ('ISPRS-Potsdam/open-mmlab__mmsegmentation/tests/data/'
                'pseudo_potsdam_dataset')


def test_documented_settings():
    cfg = Config.fromfile(PAPER)
    assert cfg.model.decode_head.num_classes == 6
    assert cfg.model.auxiliary_head.num_classes == 6
    assert cfg.model.data_preprocessor.size == (512, 512)
    assert cfg.val_evaluator == dict(type='skysense_mm.SegF1Metric',
                                     ignore_classes=('clutter', ))
    assert cfg.test_evaluator == cfg.val_evaluator
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'skysense_mm.PotsdamDataset'
    assert ds.data_prefix.img_path == 'img_dir/train'
    assert cfg.val_dataloader.dataset.data_prefix.img_path == 'img_dir/val'
    assert cfg.optim_wrapper.optimizer.lr == 6e-5
    assert cfg.train_cfg.max_iters == 80000

run = run_tool


def test_tiny_train_and_test_on_real_sample(tmp_path, shared_data):
    data_root = osp.join(shared_data, POTSDAM_ROOT)
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}']
    work = str(tmp_path / 'work')
    out = run('train.py', TINY, '--work-dir', work, *opts)
    assert 'Iter(train) [2/2]' in out
    ckpt = osp.join(work, 'iter_2.pth')
    out = run('test.py', TINY, ckpt, '--work-dir', work, *opts)
    m = re.search(r'Iter\(test\) \[1/1\].*aAcc: ([\d.]+)\s+mF1: ([\d.]+)\s+'
                  r'mIoU: ([\d.]+)', out)
    assert m, out[-3000:]
    assert 0.0 <= float(m.group(2)) <= 100.0
    # mF1 is the mean of the 5 non-clutter per-class F1 values
    f1 = {k: float(v) for k, v in re.findall(r'F1\.(\w+): ([\d.]+)', out)}
    assert len(f1) == 6
    kept = [v for k, v in f1.items() if k != 'clutter']
    assert abs(sum(kept) / 5 - float(m.group(2))) < 0.02
