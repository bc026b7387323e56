"""The tiny LEVIR-CD change-detection config (Siamese SkySense + UperNet,
https://arxiv.org/abs/2312.10115 Tab. 2c) trains 2 iterations and tests
through tools/train.py and tools/test.py on the real LEVIR-CD sample (two
official 1024x1024 tiles)."""
import glob
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from conftest import ROOT, run_tool

CONFIG = osp.join(
    ROOT, 'configs', 'benchmarks', 'cd', 'levircd',
    'skysense_swinv2-tiny_siamese-upernet_2iters_levircd-64x64.py')
TTP = 'LEVIR-CD/KyanChen__TTP/samples'

run = run_tool


def test_tiny_levircd_train_and_test(shared_data, tmp_path):
    data = osp.join(shared_data, TTP)
    work = str(tmp_path / 'work')
    roots = [f'{k}_dataloader.dataset.data_root={data}'
             for k in ('train', 'val', 'test')]
    # validation off for speed (tools/test.py below evaluates)
    log = run('train.py', CONFIG, '--work-dir', work, '--cfg-options',
              roots[0], 'val_cfg=None', 'val_dataloader=None',
              'val_evaluator=None')
    assert 'Iter(train) [2/2]' in log
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    test_dir = str(tmp_path / 'test')
    show_dir = str(tmp_path / 'show')
    log = run('test.py', CONFIG, ckpt, '--work-dir', test_dir,
              '--show-dir', show_dir, '--cfg-options', roots[2])
    # --show-dir: colour-mapped prediction + date-B image per tile
    vis = osp.join(show_dir, 'vis_data', 'vis_image')
    assert sorted(os.listdir(vis)) == [
        f'test_{i}_{kind}_0.png' for i in (1, 2) for kind in ('pred', 'rgb')]
    for i in (1, 2):
        png = np.asarray(Image.open(osp.join(vis, f'test_{i}_pred_0.png')))
        assert png.shape == (1024, 1024, 3)
        # only the palette colours (unchanged black, changed white)
        assert set(np.unique(png)) <= {0, 255}
        assert (png[..., 0] == png[..., 1]).all()
        rgb = np.asarray(Image.open(osp.join(vis, f'test_{i}_rgb_0.png')))
        b_img = np.asarray(Image.open(osp.join(data, 'B', f'test_{i}.png')))
        assert np.array_equal(rgb, b_img[..., :3])
    assert 'Iter(test) [2/2]' in log
    (result, ) = glob.glob(osp.join(test_dir, '*', '*.json'))
    with open(result) as f:
        metrics = json.load(f)
    for key in ('F1', 'Precision', 'Recall', 'IoU', 'aAcc', 'mIoU'):
        assert key in metrics
    # TP + FN counted by the metric = changed pixels of the two real masks
    changed = sum(
        int((np.asarray(Image.open(osp.join(data, 'label', f))) == 255).sum())
        for f in ('test_1.png', 'test_2.png'))
    line = [ln for ln in log.splitlines() if 'change class 1: TP=' in ln][-1]
    counts = dict(kv.split('=') for kv in line.split(': ', 1)[1].split())
    assert int(counts['TP']) + int(counts['FN']) == changed
    tp, fp, fn = (int(counts[k]) for k in ('TP', 'FP', 'FN'))
    assert metrics['F1'] == round(100 * 2 * tp / (2 * tp + fp + fn), 2)
