"""The compiled mmcv ops our heads need, against independent references.

A missing ``mmcv._ext`` fails here (it is imported, never skipped).
"""
import math

import numpy as np
import pytest
import torch
import torchvision
from shapely.geometry import Polygon

import skysense_mm  # noqa: F401,E402  (compat: class-aware nms_rotated on CPU)
from mmcv.ops import (RoIAlign, RoIAlignRotated, batched_nms,  # noqa: E402
                      box_iou_rotated, nms, nms_rotated)


def test_ext_is_compiled():
    import mmcv
    from mmcv.utils import ext_loader
    ext = ext_loader.load_ext('_ext', ['nms', 'box_iou_rotated'])
    assert ext is not None
    assert mmcv.__version__ == '2.0.1'


def _random_boxes(n, size=100, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 3 + 2
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g)


@pytest.mark.parametrize('iou_thr', [0.3, 0.5, 0.7])
def test_nms_matches_torchvision(iou_thr):
    boxes, scores = _random_boxes(200)
    dets, keep = nms(boxes, scores, iou_thr)
    ref = torchvision.ops.nms(boxes, scores, iou_thr)
    assert keep.tolist() == ref.tolist()
    assert torch.allclose(dets[:, 4], scores[ref])
    assert torch.allclose(dets[:, :4], boxes[ref])


def test_batched_nms_matches_torchvision():
    boxes, scores = _random_boxes(300, seed=1)
    idxs = torch.randint(0, 5, (300, ), generator=torch.Generator().manual_seed(2))
    dets, keep = batched_nms(boxes, scores, idxs,
                             dict(type='nms', iou_threshold=0.5))
    ref = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5)
    assert sorted(keep.tolist()) == sorted(ref.tolist())
    assert torch.allclose(dets[:, 4], scores[keep])


@pytest.mark.parametrize('aligned', [True, False])
def test_roi_align_matches_torchvision(aligned):
    g = torch.Generator().manual_seed(0)
    feats = torch.rand(2, 8, 32, 32, generator=g)
    boxes, _ = _random_boxes(20, size=100, seed=3)
    boxes = boxes.clamp(0, 127)
    rois = torch.cat([torch.randint(0, 2, (20, 1), generator=g).float(), boxes], 1)
    ours = RoIAlign((7, 7), spatial_scale=0.25, sampling_ratio=2,
                    aligned=aligned)(feats, rois)
    ref = torchvision.ops.roi_align(feats, rois, (7, 7), spatial_scale=0.25,
                                    sampling_ratio=2, aligned=aligned)
    assert ours.shape == (20, 8, 7, 7)
    assert torch.allclose(ours, ref, atol=1e-5)


def _corners(box, clockwise):
    """Corners of (cx, cy, w, h, a) in image coords (y points down).

    ``clockwise=True``: a positive angle turns the box clockwise on screen.
    """
    cx, cy, w, h, a = box
    a = a if clockwise else -a
    c, s = math.cos(a), math.sin(a)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]


def _shapely_iou(b1, b2, clockwise):
    p1, p2 = Polygon(_corners(b1, clockwise)), Polygon(_corners(b2, clockwise))
    inter = p1.intersection(p2).area
    return inter / (p1.area + p2.area - inter)


@pytest.mark.parametrize('clockwise', [True, False])
def test_box_iou_rotated_matches_shapely(clockwise):
    g = torch.Generator().manual_seed(4)
    n = 40
    b = torch.cat([
        torch.rand(n, 2, generator=g) * 30 + 10,
        torch.rand(n, 2, generator=g) * 20 + 5,
        (torch.rand(n, 1, generator=g) - 0.5) * math.pi
    ], 1)
    ious = box_iou_rotated(b, b, clockwise=clockwise)
    ref = np.array([[_shapely_iou(x.tolist(), y.tolist(), clockwise)
                     for y in b] for x in b])
    assert ious.shape == (n, n)
    np.testing.assert_allclose(ious.numpy(), ref, atol=2e-4)
    assert (ref > 0.05).sum() > n  # the case set has real overlaps


def test_box_iou_rotated_square_vs_rotated_square():
    sq = torch.tensor([[0., 0., 2., 2., 0.]])
    rot = torch.tensor([[0., 0., 2., 2., math.pi / 4]])
    # Intersection = regular octagon of area 8(sqrt2-1); union = 8 - that.
    inter = 8 * (math.sqrt(2) - 1)
    expected = inter / (8 - inter)
    assert box_iou_rotated(sq, rot).item() == pytest.approx(expected, abs=1e-4)


def test_nms_rotated_hand_cases():
    boxes = torch.tensor([
        [10., 10., 8., 4., 0.3],
        [10.2, 10.1, 8., 4., 0.32],  # near duplicate of box 0, lower score
        [40., 40., 6., 6., 0.],  # far away
        [40., 40., 6., 6., math.pi / 4],  # same square turned 45 deg
    ])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    _, keep = nms_rotated(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]  # IoU(2, 3) = 0.7071 > 0.5
    _, keep = nms_rotated(boxes, scores, iou_threshold=0.75)
    assert keep.tolist() == [0, 2, 3]
    # labels keep classes apart
    labels = torch.tensor([0, 1, 0, 0])
    _, keep = nms_rotated(boxes, scores, 0.5, labels=labels)
    assert sorted(keep.tolist()) == [0, 1, 2]


def test_roi_align_rotated_zero_angle_equals_roi_align():
    feats = torch.rand(1, 4, 24, 24, generator=torch.Generator().manual_seed(5))
    rois = torch.tensor([[0., 48., 40., 32., 24., 0.]])  # cx cy w h theta
    ours = RoIAlignRotated((4, 4), 0.25, 2, aligned=True)(feats, rois)
    x1, y1 = 48 - 16, 40 - 12
    ref = torchvision.ops.roi_align(
        feats, torch.tensor([[0., x1, y1, x1 + 32, y1 + 24]]), (4, 4),
        spatial_scale=0.25, sampling_ratio=2, aligned=True)
    assert torch.allclose(ours, ref, atol=1e-5)


@pytest.mark.parametrize('theta', [math.pi / 6, -math.pi / 3, math.pi / 2])
def test_roi_align_rotated_on_linear_ramp(theta):
    # On f(row, col) = 2*col + 3*row + 1 bilinear sampling is exact, so each
    # bin's average is f at the bin centre, rotated about the RoI centre
    # (counter-clockwise in (x, y) for clockwise=False).
    h = w = 40
    rows, cols = torch.meshgrid(torch.arange(h).float(),
                                torch.arange(w).float(), indexing='ij')
    feats = (2 * cols + 3 * rows + 1)[None, None]
    cx, cy, bw, bh, ph, pw = 20., 18., 12., 6., 3, 4
    rois = torch.tensor([[0., cx, cy, bw, bh, theta]])
    out = RoIAlignRotated((ph, pw), 1.0, 2, aligned=True,
                          clockwise=False)(feats, rois)[0, 0]
    c, s = math.cos(theta), math.sin(theta)
    expected = torch.empty(ph, pw)
    for i in range(ph):
        for j in range(pw):
            yy = -bh / 2 + (i + 0.5) * bh / ph
            xx = -bw / 2 + (j + 0.5) * bw / pw
            x = xx * c + yy * s + cx - 0.5
            y = yy * c - xx * s + cy - 0.5
            expected[i, j] = 2 * x + 3 * y + 1
    assert torch.allclose(out, expected, atol=1e-4)
