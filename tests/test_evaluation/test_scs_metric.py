"""``skysense_mm.DynamicEarthNetMetric``: the official DynamicEarthNet
CodaLab scores (global mIoU, BC, SC, SCS; BENCHMARK_PROTOCOLS.md (a)) on
hand-computed cases, and the CodaLab submission it writes
(https://arxiv.org/abs/2312.10115, Tab. 2c)."""
import math
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from skysense_mm.evaluation.metrics.scs_metric import (DynamicEarthNetMetric,
                                                        frame_name)

LABELS = 'data/labels/{c}_10N/Labels/Raster/{c}/{c}-2018_{m:02d}_01.tif'


def sample(cube, month, gt, pred):
    return dict(
        seg_map_path=LABELS.format(c=cube, m=month),
        gt_sem_seg=dict(data=torch.tensor(gt, dtype=torch.uint8)[None]),
        pred_sem_seg=dict(data=torch.tensor(pred, dtype=torch.int64)[None]))


def evaluate(samples, **kwargs):
    metric = DynamicEarthNetMetric(**kwargs)
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_ignore_and_empty_class():
    # gt 255 is dropped (the prediction 3 there is no false positive of
    # class 3); class 0: I 1, U 2; class 1: I 1, U 2; classes 2-5: U 0
    res = evaluate([sample('A', 1, [[0, 0], [1, 255]], [[0, 1], [1, 3]])],
                   decimals=None)
    assert res['mIoU'] == pytest.approx(50.0)
    assert res['IoU.imp'] == pytest.approx(50.0)
    assert res['IoU.agr'] == pytest.approx(50.0)
    assert res['IoU.wet'] == 0.0
    # one frame: no consecutive pair -> BC 0, SC undefined (0 classes)
    assert res['BC'] == 0.0
    assert math.isnan(res['SC']) and math.isnan(res['SCS'])


def test_all_background_prediction():
    # class 0: I 2, U 4 -> 0.5; class 2: I 0, U 2 -> 0; mean over 2 classes
    res = evaluate([sample('A', 1, [[0, 0, 2, 2]], [[0, 0, 0, 0]])])
    assert res['mIoU'] == 25.0
    assert res['IoU.imp'] == 50.0 and res['IoU.for'] == 0.0
    # perfect all-background: mIoU 100, no change anywhere
    res = evaluate([sample('A', m, [[0, 0]], [[0, 0]]) for m in (1, 2)])
    assert res['mIoU'] == 100.0 and res['BC'] == 0.0
    assert math.isnan(res['SC'])


def test_two_month_cube_with_known_change():
    gt0, gt1 = [[0, 0, 1, 1, 255, 2]], [[0, 1, 1, 2, 2, 255]]
    p0, p1 = [[0, 0, 1, 1, 1, 2]], [[0, 1, 2, 2, 1, 2]]
    samples = [sample('A', 2, gt1, p1), sample('A', 1, gt0, p0),
               # a one-month cube: must not be paired with cube A
               sample('B', 1, [[0] * 6], [[0] * 6])]
    metric = DynamicEarthNetMetric(decimals=None)
    metric.process({}, samples)
    res = metric.compute_metrics(metric.results)
    # gt change (raw values, 255 counts) [F T F T T T], pred [F T T T F F]:
    # BC = TP 2 / (2 + FP 1 + FN 2) = 0.4
    assert res['BC'] == pytest.approx(40.0)
    # SC on gt-change pixels: gt1 [1 2 2 255] vs p1 [1 2 1 2], 255 row
    # dropped: class 1 I 1 U 2, class 2 I 1 U 2 -> 0.5
    assert res['SC'] == pytest.approx(50.0)
    assert res['SCS'] == pytest.approx(45.0)
    # mIoU over all 3 frames: class 0 3/3, class 1 3/5, class 2 2/4
    assert res['mIoU'] == pytest.approx(70.0)
    assert res['IoU.agr'] == pytest.approx(60.0)
    # rounded like scores.txt
    assert evaluate(samples)['SCS'] == 45.0


def test_frames_must_be_unique_and_named_by_date():
    with pytest.raises(ValueError, match='twice'):
        evaluate([sample('A', 1, [[0]], [[0]])] * 2)
    with pytest.raises(ValueError, match='date suffix'):
        frame_name('x/short.tif')
    assert frame_name(LABELS.format(c='dir', m=3)) == 'dir-2018_03_01.png'


def test_submission_rereads_to_predictions(tmp_path):
    rng = np.random.default_rng(0)
    gts = {(c, m): rng.integers(0, 6, (5, 7)) for c in 'AB' for m in (1, 2)}
    preds = {k: rng.integers(0, 6, (5, 7)) for k in gts}
    samples = [sample(c, m, gts[c, m], preds[c, m]) for c, m in gts]
    path = str(tmp_path / 'sub.zip')
    res = evaluate(samples, submission_path=path)
    assert 0.0 <= res['mIoU'] <= 100.0
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(f'{c}-2018_{m:02d}_01.png' for c, m in gts)
        zf.extractall(tmp_path / 'res')
    for (c, m), pred in preds.items():
        name = f'{c}-2018_{m:02d}_01.png'
        # what the official evaluator does with each file
        arr = np.array(Image.open(tmp_path / 'res' / name))
        assert arr.dtype == np.uint8 and arr.shape == (5, 7)
        np.testing.assert_array_equal(arr, pred)
        assert name.split('.')[0][:-11] == c
    # a folder: res/ (predictions) and ref/ (labels) = evaluate.py's input
    folder = tmp_path / 'out'
    evaluate(samples, submission_path=str(folder))
    for (c, m) in gts:
        name = f'{c}-2018_{m:02d}_01.png'
        np.testing.assert_array_equal(
            np.array(Image.open(folder / 'res' / name)), preds[c, m])
        np.testing.assert_array_equal(
            np.array(Image.open(folder / 'ref' / name)), gts[c, m])


def test_submission_rejects_values_above_5(tmp_path):
    with pytest.raises(ValueError, match='0-5'):
        evaluate([sample('A', 1, [[0]], [[6]])],
                 submission_path=str(tmp_path / 's.zip'))


def test_submission_only_without_labels(tmp_path):
    unlabeled = sample('A', 1, [[0]], [[3]])
    del unlabeled['gt_sem_seg']
    path = str(tmp_path / 'sub.zip')
    assert evaluate([unlabeled], submission_path=path) == {}
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ['A-2018_01_01.png']
    with pytest.raises(ValueError, match='1 of 1 frames have no label'):
        evaluate([unlabeled])
