"""Paper-size SkySense pre-training configs (https://arxiv.org/abs/2312.10115):
DDP and FSDP variants load; the model builds on the meta device with the
paper's sizes; the FSDP auto-wrap policy cuts student and teacher into the
same units (every transformer layer and DINO head) and never wraps a module
the pre-training calls by a method other than forward. No full-size tensor
is allocated (meta device)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import FUNCTIONS

import skysense_mm  # noqa: F401
from skysense_mm.models.selfsup import skysense_pretrain_wrap_policy
from skysense_mm.models.utils.meta_build import build_model_on_meta

from conftest import ROOT

DDP = osp.join(ROOT, 'configs', 'pretrain', 'skysense_paper_pretrain.py')
FSDP = osp.join(ROOT, 'configs', 'pretrain',
                'skysense_paper_pretrain_fsdp.py')


@pytest.fixture(scope='module')
def meta_model():
    return build_model_on_meta(DDP)


def test_configs_load():
    ddp, fsdp = Config.fromfile(DDP), Config.fromfile(FSDP)
    assert ddp.model.backbone.geo_prototypes.num_regions == 4096
    assert ddp.model.backbone.geo_prototypes.num_prototypes == 100
    assert ddp.train_dataloader.batch_size * 80 == 240  # the paper
    assert 'runner_type' not in ddp
    assert ddp.model_wrapper_cfg.type == 'MMDistributedDataParallel'
    assert fsdp.runner_type == 'FlexibleRunner'
    wrapper = fsdp.strategy.model_wrapper
    assert fsdp.strategy.type == 'ResumableFSDPStrategy'  # --resume
    assert wrapper.type == 'MMFullyShardedDataParallel'
    assert wrapper.use_orig_params is True  # TeacherEMAHook needs it
    assert wrapper.sharding_strategy == 'FULL_SHARD'
    assert wrapper.auto_wrap_policy == dict(
        type='skysense_pretrain_wrap_policy')
    assert FUNCTIONS.get('skysense_pretrain_wrap_policy') is \
        skysense_pretrain_wrap_policy
    assert fsdp.strategy.state_dict_cfg == 'full'
    # clipping with the norm over all shards
    assert fsdp.optim_wrapper.type == 'ShardedGradClipOptimWrapper'
    assert fsdp.optim_wrapper.clip_grad == ddp.optim_wrapper.clip_grad
    assert fsdp.model == ddp.model
    assert [h.type for h in fsdp.custom_hooks] == ['TeacherEMAHook',
                                                   'RNGStateHook']


def test_paper_model_on_meta(meta_model):
    model = meta_model
    assert all(p.is_meta for p in model.parameters())
    protos = model.student['backbone'].geo_prototypes.prototypes
    assert tuple(protos.shape) == (4096, 100, 1024)
    student = sum(p.numel() for p in model.student['backbone'].parameters())
    # the encoder alone: ~2.06e9 with the prototypes (the paper)
    assert 1.6e9 < student + protos.numel() < 2.2e9
    assert {n for n, _ in model.student.named_parameters()} == \
        {n for n, _ in model.teacher.named_parameters()}


def test_fsdp_units_match_between_student_and_teacher(meta_model):
    model = meta_model
    units = [
        n for n, m in model.named_modules() if n and
        skysense_pretrain_wrap_policy(m, recurse=False, nonwrapped_numel=0)
    ]
    student = sorted(n[len('student.'):] for n in units
                     if n.startswith('student.'))
    teacher = sorted(n[len('teacher.'):] for n in units
                     if n.startswith('teacher.'))
    assert student == teacher
    assert len(units) == 2 * len(student)  # nothing outside the branches
    count = {
        k: sum(k in n for n in student)
        for k in ('backbone_hr.', 'backbone_s2.', 'backbone_s1.',
                  'fusion_neck.', 'heads.')
    }
    # Swin-V2-H blocks 2+2+18+2, ViT-L 24 layers, fusion 24 layers, 4 heads
    assert count == {'backbone_hr.': 24, 'backbone_s2.': 24,
                     'backbone_s1.': 24, 'fusion_neck.': 24, 'heads.': 4}
    # modules called through methods (forward_features, backbone_hr, ...)
    # are never units, and units do not nest
    for name in ('student.backbone', 'student.backbone.backbone_hr',
                 'student.backbone.fusion_neck', 'student.heads'):
        assert name not in units
    for a in units:
        assert not any(b.startswith(a + '.') for b in units), a
    # the units hold almost all parameters: the root unit (gathered by the
    # EMA hook every step) stays small
    mods = dict(model.named_modules())
    in_units = sum(p.numel() for n in units for p in mods[n].parameters())
    total = sum(p.numel() for p in model.parameters())
    assert in_units / total > 0.9


def test_policy_rejects_unknown_class():
    with pytest.raises(ValueError, match='no.such.Module'):
        skysense_pretrain_wrap_policy(
            torch.nn.Linear(1, 1), False, 0,
            module_classes=('no.such.Module', ))
