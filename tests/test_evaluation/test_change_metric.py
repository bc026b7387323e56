"""skysense_mm.ChangeDetectionMetric (F1 of the change class, SkySense
Tab. 2c, https://arxiv.org/abs/2312.10115) on hand-computed cases."""
import math

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import skysense_mm.evaluation  # noqa: F401
from skysense_mm.evaluation import ChangeDetectionMetric, change_scores

META = dict(classes=('unchanged', 'changed'))


def sample(pred, gt):
    s = SegDataSample()
    s.pred_sem_seg = PixelData(data=torch.tensor(pred)[None])
    s.gt_sem_seg = PixelData(data=torch.tensor(gt)[None])
    return s.to_dict()


def evaluate(pairs, **kwargs):
    metric = ChangeDetectionMetric(**kwargs)
    metric.dataset_meta = META
    metric.process({}, [sample(p, g) for p, g in pairs])
    return metric.evaluate(len(pairs))


def test_two_images_accumulate_pixels_globally():
    # image 1: TP=2 FP=1 FN=1 TN=0; image 2: TP=1 FP=0 FN=2 TN=1
    pairs = [([[1, 1], [1, 0]], [[1, 1], [0, 1]]),
             ([[1, 0], [0, 0]], [[1, 1], [1, 0]])]
    res = evaluate(pairs)
    # global TP=3 FP=1 FN=3: P=3/4 R=3/6 F1=6/10 IoU=3/7
    assert res['Precision'] == 75.0
    assert res['Recall'] == 50.0
    assert res['F1'] == 60.0
    assert res['IoU'] == round(300 / 7, 2)
    assert res['aAcc'] == round(100 * 4 / 8, 2)
    # mIoU: class 0 inter 1 (TN) / union (1 + 3 + 1) ; class 1 3/7
    assert res['mIoU'] == round(100 * (1 / 5 + 3 / 7) / 2, 2)
    # F1 equals the harmonic mean of P and R
    assert res['F1'] == round(100 * 2 * .75 * .5 / 1.25, 2)


def test_ignore_index_pixels_are_not_counted():
    pairs = [([[1, 1], [0, 1]], [[1, 255], [0, 255]])]
    res = evaluate(pairs)
    # only (0,0) TP and (1,0) TN count
    assert res['F1'] == 100.0 and res['Precision'] == 100.0
    assert res['aAcc'] == 100.0
    # a different ignore value
    res = evaluate([([[1, 1], [0, 1]], [[1, 7], [0, 7]])], ignore_index=7)
    assert res['F1'] == 100.0


def test_all_background_is_undefined_not_zero_or_perfect():
    pairs = [([[0, 0], [0, 0]], [[0, 0], [0, 0]])]
    res = evaluate(pairs)
    assert all(math.isnan(res[k]) for k in ('F1', 'Precision', 'Recall',
                                            'IoU'))
    assert res['aAcc'] == 100.0
    res = evaluate(pairs, nan_to_num=0)
    assert res['F1'] == 0.0 and res['Precision'] == 0.0


def test_empty_change_class_in_labels_or_predictions():
    # no change in the labels, some predicted: F1 = 0, recall undefined
    res = evaluate([([[1, 0], [0, 0]], [[0, 0], [0, 0]])])
    assert res['F1'] == 0.0 and res['Precision'] == 0.0
    assert math.isnan(res['Recall'])
    # change in the labels, none predicted: F1 = 0, precision undefined
    res = evaluate([([[0, 0], [0, 0]], [[1, 0], [0, 0]])])
    assert res['F1'] == 0.0 and res['Recall'] == 0.0
    assert math.isnan(res['Precision'])


def test_change_scores_formula():
    s = change_scores(tp=8, fp=2, fn=4)
    assert s['precision'] == pytest.approx(0.8)
    assert s['recall'] == pytest.approx(8 / 12)
    assert s['f1'] == pytest.approx(16 / 22)
    assert s['iou'] == pytest.approx(8 / 14)


def test_registered_under_skysense_scope():
    from mmengine.registry import METRICS
    m = METRICS.build(dict(type='skysense_mm.ChangeDetectionMetric'))
    assert isinstance(m, ChangeDetectionMetric)
