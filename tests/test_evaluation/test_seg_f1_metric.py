"""skysense_mm.SegF1Metric, the Potsdam mF1 of SkySense
(https://arxiv.org/abs/2312.10115), on hand-computed confusion matrices."""
import math

import numpy as np
import pytest
import torch
from mmengine.registry import METRICS, init_default_scope

from skysense_mm.evaluation.metrics.seg_f1 import SegF1Metric, f1_from_areas

POTSDAM = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car',
           'clutter')


def sample(pred, gt):
    return dict(pred_sem_seg=dict(data=torch.tensor(pred)[None]),
                gt_sem_seg=dict(data=torch.tensor(gt)[None]))


def evaluate(metric, pairs, classes):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [sample(p, g) for p, g in pairs])
    return metric.compute_metrics(metric.results)


def test_registered_in_mmseg_scope():
    init_default_scope('mmseg')
    m = METRICS.build(dict(type='skysense_mm.SegF1Metric',
                           ignore_classes=('clutter', )))
    assert isinstance(m, SegF1Metric) and m.ignore_classes == ('clutter', )


def test_hand_computed_three_classes_with_ignore_index():
    # gt / pred on 8 pixels, class ids 0..2, 255 ignored
    gt = [[0, 0, 0, 1, 1, 2, 255, 255]]
    pred = [[0, 0, 1, 1, 2, 2, 0, 1]]
    res = evaluate(SegF1Metric(), [(pred, gt)], ('a', 'b', 'c'))
    # class 0: TP 2, FP 0, FN 1 -> F1 = 4/5; class 1: TP 1, FP 1, FN 1 ->
    # 2/4; class 2: TP 1, FP 1, FN 0 -> 2/3 (ignored pixels dropped)
    f1 = [0.8, 0.5, 2 / 3]
    for name, v in zip('abc', f1):
        assert res[f'F1.{name}'] == pytest.approx(round(v * 100, 2))
    assert res['mF1'] == pytest.approx(round(np.mean(f1) * 100, 2))
    assert res['aAcc'] == pytest.approx(round(4 / 6 * 100, 2))
    # IoU: 2/3, 1/3, 1/2
    assert res['mIoU'] == pytest.approx(
        round(np.mean([2 / 3, 1 / 3, 1 / 2]) * 100, 2))


def test_clutter_excluded_from_mean_but_counts_as_error():
    # gt: impervious x2, clutter x2; pred: impervious, clutter, clutter, tree
    gt = [[0, 0, 5, 5]]
    pred = [[0, 5, 5, 3]]
    res = evaluate(SegF1Metric(ignore_classes=('clutter', )), [(pred, gt)],
                   POTSDAM)
    # impervious: TP 1, FN 1 -> 2/3; tree: FP 1 -> 0; clutter: TP1 FP1 FN1
    # -> 1/2 reported but not averaged; building/low_veg/car absent -> NaN
    assert res['F1.impervious_surface'] == pytest.approx(66.67)
    assert res['F1.tree'] == 0.0
    assert res['F1.clutter'] == pytest.approx(50.0)
    assert math.isnan(res['F1.building']) and math.isnan(res['F1.car'])
    assert res['mF1'] == pytest.approx(round((2 / 3 + 0) / 2 * 100, 2))
    # with clutter in the mean the value changes
    res_all = evaluate(SegF1Metric(), [(pred, gt)], POTSDAM)
    assert res_all['mF1'] == pytest.approx(
        round((2 / 3 + 0 + 0.5) / 3 * 100, 2))


def test_empty_class_is_nan_and_skipped():
    # class 'b' neither in gt nor predicted
    gt = [[0, 0, 2, 2]]
    pred = [[0, 0, 2, 2]]
    res = evaluate(SegF1Metric(), [(pred, gt)], ('a', 'b', 'c'))
    assert math.isnan(res['F1.b'])
    assert res['mF1'] == 100.0 and res['aAcc'] == 100.0


def test_all_background_accumulates_over_samples():
    zeros = [[0] * 4] * 2
    res = evaluate(SegF1Metric(), [(zeros, zeros), (zeros, zeros)],
                   ('background', 'obj'))
    assert res['F1.background'] == 100.0 and math.isnan(res['F1.obj'])
    assert res['mF1'] == 100.0
    # everything predicted as the object: background F1 0, object F1 0
    ones = [[1] * 4] * 2
    res = evaluate(SegF1Metric(), [(ones, zeros)], ('background', 'obj'))
    assert res['F1.background'] == 0.0 and res['F1.obj'] == 0.0
    assert res['mF1'] == 0.0 and res['aAcc'] == 0.0


def test_only_ignored_pixels_give_nan():
    gt = [[255, 255]]
    res = evaluate(SegF1Metric(), [([[0, 1]], gt)], ('a', 'b'))
    assert math.isnan(res['mF1']) and math.isnan(res['aAcc'])


def test_f1_from_areas_matches_definition():
    f1 = f1_from_areas(np.array([3., 0., 0.]), np.array([4., 2., 0.]),
                       np.array([5., 0., 0.]))
    assert f1[0] == pytest.approx(6 / 9) and f1[1] == 0.0
    assert math.isnan(f1[2])


def test_unknown_ignore_class_is_an_error():
    with pytest.raises(ValueError, match='Clutter'):
        evaluate(SegF1Metric(ignore_classes=('Clutter', )),
                 [([[0]], [[0]])], POTSDAM)
