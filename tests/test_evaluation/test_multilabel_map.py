"""Micro mAP of the SkySense (https://arxiv.org/abs/2312.10115) BigEarthNet
benchmark on hand-computed cases."""
import pytest
import torch
from mmengine.evaluator import Evaluator

from skysense_mm.evaluation.metrics import (MicroAveragePrecision,
                                            micro_average_precision)

PRED = torch.tensor([[0.9, 0.2], [0.6, 0.8], [0.1, 0.3]])
TARGET = torch.tensor([[1, 0], [0, 1], [1, 0]])


def test_micro_ap_by_hand():
    # flattened, sorted by score: 0.9(+) 0.8(+) 0.6 0.3 0.2 0.1(+)
    # precision at the positives: 1/1, 2/2, 3/6 -> AP = 2.5 / 3
    ap = micro_average_precision(PRED, TARGET)
    assert ap.item() == pytest.approx(100 * 2.5 / 3, abs=1e-4)
    # perfect ranking
    assert micro_average_precision(TARGET.float(), TARGET).item() == \
        pytest.approx(100.0)
    with pytest.raises(ValueError, match=r'\(N, C\)'):
        micro_average_precision(PRED[0], TARGET[0])


def test_metric_through_evaluator():
    ev = Evaluator(MicroAveragePrecision())
    samples = [dict(pred_score=PRED[i], gt_label=torch.nonzero(
        TARGET[i]).flatten()) for i in range(3)]
    ev.process(samples[:2])
    ev.process(samples[2:])
    res = ev.evaluate(3)
    assert res['multi-label/mAP_micro'] == pytest.approx(83.3333, abs=1e-3)
    # class 0: 0.9(+) 0.6 0.1(+) -> (1 + 2/3) / 2; class 1: 0.8(+) -> 1
    assert res['multi-label/mAP_macro'] == pytest.approx(
        100 * (5 / 6 + 1) / 2, abs=1e-3)
