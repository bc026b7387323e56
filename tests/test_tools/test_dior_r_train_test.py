"""The SkySense DIOR-R tiny config (https://arxiv.org/abs/2312.10115, Tab.
2b: Oriented R-CNN le90) trains 2 iterations and tests through
tools/train.py / tools/test.py on MMRotate's real DIOR-R fixture (image
00001 + its official oriented XML) in ../shared/data/DIOR; the full config
and the metafile are checked in test_dior_train_test.py.
"""
import os.path as osp
import re

from conftest import ROOT, run_tool

DIORR_TINY = osp.join(
    ROOT, 'configs', 'benchmarks', 'rdet', 'dior-r',
    'skysense_swinv2-tiny_oriented-rcnn-le90_fpn_2iters_dior-r-128x128.py')


def test_dior_r_tiny_train_and_test_on_real_sample(tmp_path, shared_data):
    root = osp.join(shared_data, 'DIOR', 'open-mmlab__mmrotate@1.x', 'tests',
                    'data', 'dior')
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}']
    work = str(tmp_path / 'work')
    out = run_tool('train.py', DIORR_TINY, '--work-dir', work, *opts)
    assert 'Iter(train) [2/2]' in out
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    out = run_tool('test.py', DIORR_TINY, ckpt, '--work-dir', work, *opts)
    m = re.search(r'Iter\(test\) \[1/1\].*dota/mAP: ([\d.]+)', out)
    assert m, out[-3000:]
    assert 0.0 <= float(m.group(1)) <= 1.0
    assert re.search(r'\| golffield\s+\| 1\s+\|', out), out[-3000:]
