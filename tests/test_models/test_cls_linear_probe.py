"""Linear probe vs full fine-tuning of the SkySense scene classifier
(https://arxiv.org/abs/2312.10115, Tab. 3: SkySense HR encoder + a linear
head): with ``frozen_stages=3`` (the benchmark configs' linear-probe mode)
only the head gets gradients and an optimizer step leaves every backbone
parameter and buffer unchanged; with ``frozen_stages=-1`` all train."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import skysense_mm  # noqa: F401

from conftest import ROOT

TINY = osp.join(ROOT, 'configs', 'benchmarks', 'cls', 'aid',
                'skysense_swinv2-tiny_linear-probe_2iters_aid-64x64.py')


def _build(frozen_stages):
    cfg = Config.fromfile(TINY)
    cfg.model.backbone.frozen_stages = frozen_stages
    cfg.model.backbone.drop_path_rate = 0.1  # must be off when frozen
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim


def _batch():
    g = torch.Generator().manual_seed(1)
    inputs = [torch.randint(0, 256, (3, 64, 64), generator=g,
                            dtype=torch.uint8) for _ in range(4)]
    samples = [DataSample().set_gt_label(i % 30) for i in range(4)]
    return dict(inputs=inputs, data_samples=samples)


def _step(model, optim):
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    optim.update_params(losses['loss'])
    return data


def test_linear_probe_trains_only_the_head():
    model, optim = _build(frozen_stages=3)
    bb = model.backbone
    assert all(not p.requires_grad for p in bb.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    # frozen modules stay in eval mode (no drop path) while training
    assert not bb.patch_embed.training
    assert all(not s.training for s in bb.stages)
    assert model.head.training
    before = {k: v.clone() for k, v in bb.state_dict().items()}
    head_before = {k: v.clone() for k, v in model.head.state_dict().items()}
    # zero_grad in update_params clears the grads, so backprop once by hand
    data = model.data_preprocessor(_batch(), training=True)
    model(**data, mode='loss')['loss'].backward()
    assert all(p.grad is None for p in bb.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.head.parameters())
    optim.zero_grad()
    for _ in range(2):
        _step(model, optim)
    after = bb.state_dict()
    assert sorted(after) == sorted(before)
    for k, v in before.items():  # parameters, LN weights and all buffers
        assert torch.equal(after[k], v), k
    assert any(not torch.equal(model.head.state_dict()[k], v)
               for k, v in head_before.items())
    # the encoder is deterministic in train mode (drop path disabled)
    x = data['inputs']
    assert torch.equal(bb(x)[0], bb(x)[0])


def test_finetune_trains_backbone_and_head():
    model, optim = _build(frozen_stages=-1)
    bb = model.backbone
    assert all(p.requires_grad for p in model.parameters())
    assert all(s.training for s in bb.stages)
    before = {k: v.clone() for k, v in bb.named_parameters()}
    data = model.data_preprocessor(_batch(), training=True)
    model(**data, mode='loss')['loss'].backward()
    named = dict(bb.named_parameters())
    assert named['patch_embed.projection.weight'].grad.abs().sum() > 0
    assert named['norm3.weight'].grad.abs().sum() > 0
    optim.zero_grad()
    _step(model, optim)
    assert not torch.equal(named['patch_embed.projection.weight'],
                           before['patch_embed.projection.weight'])
    assert not torch.equal(named['norm3.weight'], before['norm3.weight'])


def test_huge_linear_probe_on_meta():
    """The full AID / RESISC45 models (Swin-V2-H, 2816-channel stage 3) fit
    the head, and the linear probe freezes every encoder parameter (built on
    the meta device, no memory)."""
    from skysense_mm.models.utils.meta_build import build_model_on_meta
    for folder, tr, classes in (('aid', 20, 30), ('resisc45', 10, 45)):
        model = build_model_on_meta(osp.join(
            ROOT, 'configs', 'benchmarks', 'cls', folder,
            f'skysense_swinv2-huge_linear-probe_100e_{folder}-tr{tr}-'
            '256x256.py'))
        assert model.backbone.stages[3].out_channels == 2816
        assert tuple(model.head.fc.weight.shape) == (classes, 2816)
        model.train()
        assert not any(p.requires_grad for p in model.backbone.parameters())
        assert all(p.requires_grad for p in model.head.parameters())
