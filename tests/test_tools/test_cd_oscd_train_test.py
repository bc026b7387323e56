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
import pickle

import numpy as np
from PIL import Image

from conftest import ROOT, run_tool

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
    show_dir = str(tmp_path / 'show')
    preds_pkl = str(tmp_path / 'preds.pkl')
    log = run('test.py', CONFIG, osp.join(work, 'iter_2.pth'), '--work-dir',
              test_dir, '--show-dir', show_dir, '--out', preds_pkl,
              '--cfg-options',
              f'test_dataloader.dataset.data_root={data}')
    # --show-dir: one colour-mapped prediction (+ date-2 RGB) per test city
    vis = osp.join(show_dir, 'vis_data', 'vis_image')
    assert sorted(os.listdir(vis)) == ['test_pred_0.png', 'test_rgb_0.png']
    with open(preds_pkl, 'rb') as f:
        (pred, ) = pickle.load(f)
    mask = pred['pred_sem_seg']['data'][0].numpy()
    png = np.asarray(Image.open(osp.join(vis, 'test_pred_0.png')))
    palette = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)  # OSCD
    assert png.shape == (40, 48, 3)
    assert np.array_equal(png, palette[mask])
    rgb = np.asarray(Image.open(osp.join(vis, 'test_rgb_0.png')))
    assert rgb.shape == (40, 48, 3) and rgb.std() > 0
    (result, ) = glob.glob(osp.join(test_dir, '*', '*.json'))
    with open(result) as f:
        metrics = json.load(f)
    assert set(metrics) >= {'F1', 'Precision', 'Recall', 'IoU', 'aAcc'}
    # one 40x48 test city with a 10x20 changed block
    line = [ln for ln in log.splitlines() if 'change class 1: TP=' in ln][-1]
    counts = dict(kv.split('=') for kv in line.split(': ', 1)[1].split())
    assert int(counts['TP']) + int(counts['FN']) == 200
    assert int(counts['TP']) + int(counts['FP']) <= 40 * 48
