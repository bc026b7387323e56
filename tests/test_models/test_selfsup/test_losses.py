"""Pre-training losses of SkySense (https://arxiv.org/abs/2312.10115).

Eqs. 5-10 on hand-made features."""
import math

import pytest
import torch
import torch.nn.functional as F

from skysense_mm.models.selfsup import (CLLoss, DINOProjectionHead,
                                        cosine_momentum,
                                        cross_modal_alignment_loss,
                                        dino_cross_entropy, fgcl_loss,
                                        image_contrast_loss, matched_cells,
                                        object_contrast_loss,
                                        pixel_contrast_loss)
from skysense_mm.models.utils import sinkhorn_cluster, sinkhorn_knopp


def _head(c=8, k=32, seed=0):
    torch.manual_seed(seed)
    return DINOProjectionHead(c, out_channels=k, hidden_channels=16,
                              bottleneck_channels=8)


def _cl(k=32, same_temp=False):
    cl = CLLoss(k, student_temp=0.1, teacher_temp=0.1 if same_temp else 0.04)
    return cl.eval()  # no centre queueing in the loss tests


def test_projection_head_shapes_and_bounded_logits():
    head = _head()
    out = head(torch.randn(5, 7, 8))
    assert out.shape == (5, 7, 32)
    # unit-norm bottleneck and unit-norm rows: logits are cosines
    assert out.abs().max() <= 1 + 1e-5
    with pytest.raises(ValueError, match='expects 8 channels'):
        head(torch.randn(2, 9))


def test_dino_cross_entropy_identical_is_minimum_with_equal_temps():
    torch.manual_seed(0)
    t = torch.randn(16, 10)
    best = dino_cross_entropy(t, t, None, 0.5, 0.5)
    for _ in range(10):
        other = t + 0.3 * torch.randn_like(t)
        assert dino_cross_entropy(other, t, None, 0.5, 0.5) > best
    shuffled = t[torch.randperm(16)]
    assert dino_cross_entropy(shuffled, t, None, 0.5, 0.5) > best
    # the teacher gets no gradient
    s = t.clone().requires_grad_()
    tt = t.clone().requires_grad_()
    dino_cross_entropy(s, tt).backward()
    assert s.grad is not None and tt.grad is None


def test_cl_loss_centre_ema():
    cl = CLLoss(4, center_momentum=0.9).train()
    t = torch.tensor([[1., 2., 3., 4.], [3., 2., 1., 0.]])
    cl(torch.zeros(2, 4), t)
    cl(torch.zeros(1, 4), torch.tensor([[2., 2., 2., 2.]]))
    assert torch.equal(cl.center, torch.zeros(1, 4))  # not before flush
    cl.flush_center()
    mean = torch.tensor([[2., 2., 2., 2.]])
    assert torch.allclose(cl.center, 0.1 * mean)
    cl.flush_center()  # nothing queued: unchanged
    assert torch.allclose(cl.center, 0.1 * mean)


def test_matched_cells_identity_flip_rot_and_partial():
    box = [0, 0, 64, 64]
    ia, ib = matched_cells(box, box, (4, 4), (4, 4))
    assert torch.equal(ia, ib) and ia.numel() == 16
    # B flipped horizontally: cell (r, c) of A is cell (r, 3 - c) of B
    ia, ib = matched_cells(box, box, (4, 4), (4, 4), flip_b=True)
    assert torch.equal(ib, (ia // 4) * 4 + 3 - ia % 4)
    # B rotated by np.rot90 k=1: A (r, c) -> B (3 - c, r)
    ia, ib = matched_cells(box, box, (4, 4), (4, 4), rot90_b=1)
    r, c = ia // 4, ia % 4
    assert torch.equal(ib, (3 - c) * 4 + r)
    # half overlap: the right half of A is the left half of B
    ia, ib = matched_cells([0, 0, 64, 64], [32, 0, 96, 64], (4, 4), (4, 4))
    assert ia.numel() == 8
    assert torch.equal(ia % 4, ib % 4 + 2)
    # different grid sizes: 4x4 cells of A land in a 2x2 B of the same box
    ia, ib = matched_cells(box, box, (4, 4), (2, 2))
    assert ia.numel() == 16 and int(ib.max()) == 3


def _views(b=2, c=8, h=4, w=4, seed=0):
    torch.manual_seed(seed)
    feat = torch.randn(b, c, h, w)
    # teacher view = the same ground flipped horizontally
    teacher = feat.flip(-1)
    pairs = [
        matched_cells([0, 0, 64, 64], [0, 0, 64, 64], (h, w), (h, w),
                      flip_b=True) for _ in range(b)
    ]
    return feat, teacher, pairs


def test_pixel_contrast_loss_identical_lower_than_shuffled():
    feat, teacher, pairs = _views()
    head = _head()
    same = pixel_contrast_loss(feat, teacher, pairs, head, head, _cl())
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(1))
    shuffled = teacher.flatten(2)[..., perm].reshape(teacher.shape)
    other = pixel_contrast_loss(feat, shuffled, pairs, head, head, _cl())
    assert torch.isfinite(same) and same < other
    # equal temperatures: identical views reach the entropy lower bound
    eq = pixel_contrast_loss(feat, teacher, pairs, head, head, _cl(
        same_temp=True))
    eq_other = pixel_contrast_loss(feat, shuffled, pairs, head, head,
                                   _cl(same_temp=True))
    assert eq < eq_other


def test_object_contrast_loss_identical_lower_than_swapped():
    torch.manual_seed(0)
    # two images made of 4 distinct "objects" each
    base = torch.randn(2, 4, 8) * 3
    labels = torch.arange(16).reshape(4, 4) // 4
    feat = base[:, labels].permute(0, 3, 1, 2) + 0.05 * torch.randn(
        2, 8, 4, 4)
    pairs = [matched_cells([0, 0, 4, 4], [0, 0, 4, 4], (4, 4), (4, 4))] * 2
    head = _head()
    same = object_contrast_loss(feat, feat.clone(), pairs, head, head,
                                _cl(), num_clusters=4)
    swapped = object_contrast_loss(feat, feat.flip(0), pairs, head, head,
                                   _cl(), num_clusters=4)
    assert torch.isfinite(same) and same < swapped
    # no overlap at all: zero loss that still has a graph
    empty = [(torch.zeros(0, dtype=torch.long),
              torch.zeros(0, dtype=torch.long))] * 2
    f = feat.clone().requires_grad_()
    zero = object_contrast_loss(f, feat, empty, head, head, _cl())
    assert zero.item() == 0 and zero.requires_grad


def test_image_contrast_loss_and_fgcl_sum():
    feat, teacher, pairs = _views(b=4)
    head = _head()
    same = image_contrast_loss(feat, teacher, head, head, _cl())
    other = image_contrast_loss(feat, teacher.roll(1, 0), head, head, _cl())
    assert same < other
    terms = fgcl_loss(feat, teacher, pairs, head, head,
                      dict(pix=_cl(), obj=_cl(), img=_cl()), num_clusters=4)
    assert set(terms) == {'pix', 'obj', 'img'}
    assert all(torch.isfinite(v) for v in terms.values())
    assert torch.allclose(terms['img'], same)


def test_cross_modal_alignment_loss():
    torch.manual_seed(0)
    hr = torch.eye(6, 16) * 5
    aligned = dict(hr=hr, s2=hr.clone(), s1=hr.clone())
    low = cross_modal_alignment_loss(aligned, temperature=0.07)
    shuffled = dict(hr=hr, s2=hr[torch.tensor([1, 2, 3, 4, 5, 0])],
                    s1=hr.clone())
    high = cross_modal_alignment_loss(shuffled, temperature=0.07)
    assert low < 1e-3 < high
    # 3 modalities -> 6 ordered pairs; chance level is log(B) each
    rnd = cross_modal_alignment_loss(
        dict(hr=torch.randn(6, 16), s2=torch.randn(6, 16)), temperature=1e3)
    assert math.isclose(rnd.item(), 2 * math.log(6), rel_tol=1e-3)
    # samples without a modality are left out of its pairs
    valid = dict(hr=torch.ones(6, dtype=torch.bool),
                 s2=torch.tensor([1, 1, 1, 0, 0, 0]).bool(),
                 s1=torch.ones(6, dtype=torch.bool))
    part = cross_modal_alignment_loss(shuffled, 0.07, valid)
    assert torch.isfinite(part)


def test_sinkhorn_marginals_uniform():
    torch.manual_seed(0)
    # cosine similarities, as in Eq. 6 and Eq. 11
    scores = F.normalize(torch.randn(2, 64, 6), dim=-1) @ F.normalize(
        torch.randn(2, 8, 6), dim=-1).mT
    q = sinkhorn_knopp(scores, epsilon=0.05, num_iters=50)
    assert torch.allclose(q.sum(-1), torch.ones(2, 64), atol=1e-5)
    assert torch.allclose(q.sum(-2), torch.full((2, 8), 8.0), rtol=0.01)
    # the default 3 rounds already balance far better than a softmax
    q3 = sinkhorn_knopp(scores, epsilon=0.05)
    soft = F.softmax(scores / 0.05, -1)
    assert (q3.sum(-2) - 8).abs().max() < (soft.sum(-2) - 8).abs().max()
    feats = torch.randn(3, 50, 6)
    centres, assign = sinkhorn_cluster(feats, 5)
    assert centres.shape == (3, 5, 6) and assign.shape == (3, 50, 5)
    assert torch.allclose(assign.sum(-1), torch.ones(3, 50), atol=1e-5)
    # clusters get roughly equal shares (50 / 5 = 10 pixels each)
    assert torch.allclose(assign.sum(1), torch.full((3, 5), 10.0), rtol=0.5)


def test_cosine_momentum_schedule():
    assert cosine_momentum(0, 100) == pytest.approx(0.996)
    assert cosine_momentum(100, 100) == pytest.approx(1.0)
    assert cosine_momentum(50, 100) == pytest.approx(0.998)
    with pytest.raises(ValueError):
        cosine_momentum(0, 0)


def test_alignment_rows_split_like_data_parallel():
    """Queries split over 2 'ranks' average to the whole-batch loss."""
    torch.manual_seed(0)
    emb = dict(hr=torch.randn(8, 16), s2=torch.randn(8, 16),
               s1=torch.randn(8, 16))
    valid = dict(hr=torch.ones(8, dtype=torch.bool),
                 s2=torch.ones(8, dtype=torch.bool),
                 s1=torch.ones(8, dtype=torch.bool))
    full = cross_modal_alignment_loss(emb, 0.1, valid)
    assert torch.allclose(
        cross_modal_alignment_loss(emb, 0.1, valid, torch.ones(8).bool()),
        full)
    first = torch.arange(8) < 4
    halves = [cross_modal_alignment_loss(emb, 0.1, valid, r)
              for r in (first, ~first)]
    assert torch.allclose((halves[0] + halves[1]) / 2, full, atol=1e-6)
