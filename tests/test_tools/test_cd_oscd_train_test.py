"""The tiny OSCD change-detection config (Siamese SkySense S2 encoder +
UperNet, https://arxiv.org/abs/2312.10115 Tab. 2c) trains 2 iterations and
tests through tools/train.py and tools/test.py. No real OSCD imagery exists
here: the data is a generated tree in the official OSCD layout
(tests/_oscd_layout.py: 13 band files per date, dates.txt, train.txt /
test.txt, cm/cm.png), so this checks the plumbing, not numbers."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

from conftest import ROOT, TOOLS, run_tool

from _oscd_layout import make_oscd

CONFIG = osp.join(ROOT, 'configs', 'benchmarks', 'cd', 'oscd',
                  'skysense_vit-tiny-s2_siamese-upernet_2iters_oscd-32x32.py')

run = run_tool


def test_tiny_oscd_train_and_test(tmp_path):
    data = make_oscd(str(tmp_path / 'oscd'))
    work = str(tmp_path / 'work')
    log = run('train.py', CONFIG, '--work-dir', work, '--cfg-options',
              f'train_dataloader.dataset.dataset.data_root={data}',
              f'val_dataloader.dataset.data_root={data}',
              f'test_dataloader.dataset.data_root={data}')
    assert 'Iter(train) [2/2]' in log
    test_dir = str(tmp_path / 'test')
    log = run('test.py', CONFIG, osp.join(work, 'iter_2.pth'), '--work-dir',
              test_dir, '--cfg-options',
              f'test_dataloader.dataset.data_root={data}')
    (result, ) = glob.glob(osp.join(test_dir, '*', '*.json'))
    with open(result) as f:
        metrics = json.load(f)
    assert set(metrics) >= {'F1', 'Precision', 'Recall', 'IoU', 'aAcc'}
    # one 40x48 test city with a 10x20 changed block
    line = [ln for ln in log.splitlines() if 'change class 1: TP=' in ln][-1]
    counts = dict(kv.split('=') for kv in line.split(': ', 1)[1].split())
    assert int(counts['TP']) + int(counts['FN']) == 200
    assert int(counts['TP']) + int(counts['FP']) <= 40 * 48
