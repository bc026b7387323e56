"""SkySensePretrain (https://arxiv.org/abs/2312.10115, §3.3), tiny batches."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from skysense_mm.engine.hooks import TeacherEMAHook
from skysense_mm.models.necks.geo_prototypes import latlon_to_region
from skysense_mm.models.selfsup import (SkySensePretrainDataPreprocessor,
                                        skysense_pretrain_collate)
from skysense_mm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
TINY = osp.join(ROOT, 'configs', '_base_', 'models', 'skysense_tiny.py')
STREAMS = ('hr', 's2', 's1', 'fused')


def packed_sample(i, with_s1=True, t=3):
    """A packed sample of the data contract (section 2), 2 global + 1 local."""
    g = torch.Generator().manual_seed(i)
    inputs = dict(
        hr=[torch.rand(3, 128, 128, generator=g) * 255 for _ in range(2)] +
        [torch.rand(3, 64, 64, generator=g) * 255],
        s2=[torch.rand(t, 10, 4, 4, generator=g) * 3000 for _ in range(2)],
        s2_doy=[torch.tensor([10, 100, 200][:t]) for _ in range(2)],
        s2_mask=[torch.tensor([True] * (t - 1) + [False])] * 2,
        latlon=torch.tensor([40.0 * (i % 2) - 20.0, 30.0]))
    if with_s1:
        inputs.update(
            s1=[torch.randn(2, 2, 4, 4, generator=g) * 5 - 15] * 2,
            s1_doy=[torch.tensor([5, 50])] * 2,
            s1_mask=[torch.tensor([True, True])] * 2)
    meta = dict(
        view_boxes=np.array([[0, 0, 128, 128], [32, 32, 160, 160],
                             [16, 16, 80, 80]], np.float32),
        view_flips=np.array([False, True, False]),
        view_rot90=np.array([0, 1, 2]),
        sample_id=f's{i}',
        latlon=inputs['latlon'].double().numpy())
    return dict(inputs=inputs, data_samples=BaseDataElement(metainfo=meta))


def build_model(**kwargs):
    backbone = Config.fromfile(TINY).model.to_dict()
    cfg = dict(
        type='skysense_mm.SkySensePretrain',
        backbone=backbone,
        in_channels=dict(hr=256, s2=64, s1=64, fused=128),
        head=dict(out_channels=64, hidden_channels=64,
                  bottleneck_channels=32),
        num_clusters=4,
        align_dim=32)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """The tiny model gains nothing from threads; a busy shared CPU makes
    OpenMP spin-waiting very slow. Restored after the module."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope='module')
def model():
    return build_model()


def batch():
    return skysense_pretrain_collate(
        [packed_sample(0), packed_sample(1, with_s1=False)])


def test_data_preprocessor_normalises_pads_and_flags():
    pre = SkySensePretrainDataPreprocessor()
    out = pre(batch(), True)
    inp = out['inputs']
    assert [tuple(v.shape) for v in inp['hr']] == [(2, 3, 128, 128)] * 2 + [
        (2, 3, 64, 64)
    ]
    raw = packed_sample(0)['inputs']
    mean = torch.tensor([123.675, 116.28, 103.53])[:, None, None]
    std = torch.tensor([58.395, 57.12, 57.375])[:, None, None]
    assert torch.allclose(inp['hr'][0][0], (raw['hr'][0] - mean) / std,
                          atol=1e-5)
    assert inp['s2'][0].shape == (2, 3, 10, 4, 4)
    # the padded (mask False) date is zero, real dates normalised
    assert torch.equal(inp['s2_mask'][0][0], torch.tensor([1, 1, 0]).bool())
    assert inp['s2'][0][0, 2].abs().max() == 0
    assert torch.allclose(inp['s2'][0][0, 0, 0],
                          (raw['s2'][0][0, 0] - 884.30) / 1155.15, atol=1e-5)
    # sample 1 has no S1: zeros, mask False, present False
    assert torch.equal(inp['s1_present'], torch.tensor([True, False]))
    assert not inp['s1_mask'][0][1].any()
    assert inp['latlon'].shape == (2, 2)
    bad = [packed_sample(0)]
    del bad[0]['inputs']['latlon']
    with pytest.raises(ValueError, match='s0.*latlon'):
        pre(bad)


def test_loss_terms_present_finite_and_gradients(model):
    model.train()
    assert not model.teacher.training  # teacher always in eval mode
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    expected = {f'loss_{g}_{s}' for g in ('pix', 'obj', 'img')
                for s in STREAMS} | {'loss_align'}
    assert set(losses) == expected
    for k, v in losses.items():
        assert v.dim() == 0 and torch.isfinite(v), k
    model.zero_grad()
    sum(losses.values()).backward()
    for name in ('backbone.backbone_hr.patch_embed.projection.weight',
                 'backbone.backbone_s2.patch_embed.projection.weight',
                 'backbone.backbone_s1.patch_embed.projection.weight',
                 'backbone.fusion_neck.fusion.proj.weight',
                 'heads.fused.last_weight', 'heads.s2.mlp.0.weight'):
        p = dict(model.student.named_parameters())[name]
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert model.align_proj['s2'].weight.grad.abs().sum() > 0
    # only sample 0 has S1: no negatives, so no alignment pair with S1
    assert model.align_proj['s1'].weight.grad.abs().sum() == 0
    # 'tensor' mode: the teacher's dense maps of global view 0
    maps = model(**data, mode='tensor')
    assert maps[-1].shape == (2, 128, 4, 4)


def test_only_visited_regions_prototypes_change(model):
    model.train()
    protos = model.student['backbone'].geo_prototypes.prototypes
    before = protos.clone()
    teacher_protos = model.teacher['backbone'].geo_prototypes.prototypes
    teacher_before = teacher_protos.clone()
    data = model.data_preprocessor(batch(), True)
    model(**data, mode='loss')
    regions = set(
        latlon_to_region(data['inputs']['latlon'], (4, 4)).tolist())
    changed = {
        r for r in range(protos.shape[0])
        if not torch.equal(protos[r], before[r])
    }
    assert changed == regions and len(regions) == 2
    # the teacher's prototypes only follow via TeacherEMAHook
    assert torch.equal(model.teacher['backbone'].geo_prototypes.prototypes,
                       teacher_before)


def test_teacher_ema_after_optimizer_step():
    model = build_model()
    model.train()
    optim = torch.optim.SGD(model.parameters(), lr=0.5)
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    optim.step()
    student = {k: v.detach().clone()
               for k, v in model.student.named_parameters()}
    old = {k: v.detach().clone() for k, v in model.teacher.named_parameters()}
    assert any(not torch.equal(student[k], old[k]) for k in old)
    hook = TeacherEMAHook(base_momentum=0.9, final_momentum=1.0)
    m = hook.update(model, step=2, max_iters=8)
    expected_m = 1 - 0.1 * (np.cos(np.pi * 2 / 8) + 1) / 2
    assert m == pytest.approx(expected_m)
    new = dict(model.teacher.named_parameters())
    moved = 0
    for k in old:
        want = m * old[k] + (1 - m) * student[k]
        assert torch.allclose(new[k], want, atol=1e-6, rtol=1e-6), k
        moved += int(not torch.equal(new[k], old[k]))
    assert moved > 0  # the teacher is really updated (unlike mmpretrain)
    # buffers (the geo-context prototypes) are copied from the student
    assert torch.equal(model.teacher['backbone'].geo_prototypes.prototypes,
                       model.student['backbone'].geo_prototypes.prototypes)


def test_batch_without_a_modality_gives_zero_terms():
    model = build_model()
    model.train()
    data = model.data_preprocessor(
        skysense_pretrain_collate([packed_sample(0, with_s1=False),
                                   packed_sample(1, with_s1=False)]), True)
    losses = model(**data, mode='loss')
    for g in ('pix', 'obj', 'img'):
        assert losses[f'loss_{g}_s1'].item() == 0
        assert losses[f'loss_{g}_s2'].item() > 0


def test_config_errors():
    with pytest.raises(ValueError, match='in_channels lacks'):
        build_model(in_channels=dict(hr=256))
    model = build_model()
    data = model.data_preprocessor(batch(), True)
    with pytest.raises(ValueError, match='one data sample per'):
        model.loss(data['inputs'], None)


def test_init_weights_copies_student_into_teacher():
    model = build_model()
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(1.0)
    model.init_weights()
    teacher = model.teacher.state_dict()
    for k, v in model.student.state_dict().items():
        assert torch.equal(teacher[k], v), k
