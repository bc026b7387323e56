"""Layer-wise learning-rate decay for the SkySense encoders
(https://arxiv.org/abs/2312.10115; RingMo/RVSA fine-tuning recipe):
skysense_mm.LayerDecayOptimWrapperConstructor on tiny Swin-V2 / ViT encoders,
inside SkySense, a Siamese change-detection model and an mmseg
EncoderDecoder built from the tiny iSAID config."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from torch import nn

import skysense_mm.engine  # noqa: F401
import skysense_mm.models  # noqa: F401
from skysense_mm.registry import MODELS

from conftest import ROOT

LR, WD, RATE = 1e-3, 0.05, 0.9
SWIN = dict(type='SkySenseSwinV2',
            arch=dict(embed_dims=32, depths=(1, 1, 2, 1),
                      num_heads=(1, 2, 4, 8), extra_norm_every_n_blocks=0),
            img_size=32, window_size=4, out_indices=(0, 1, 2, 3),
            pretrained_window_sizes=(0, 0, 0, 0))
VIT = dict(type='SkySenseViT',
           arch=dict(embed_dims=32, num_layers=3, num_heads=2,
                     feedforward_channels=64),
           img_size=16, patch_size=4, in_channels=10, out_indices=(2, ),
           with_cls_token=True)


class Wrapped(nn.Module):
    """A model with the encoder under ``backbone`` and a head."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(4, 2)


def groups(model, **paramwise):
    cfg = dict(
        optimizer=dict(type='AdamW', lr=LR, weight_decay=WD),
        constructor='skysense_mm.LayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=RATE, **paramwise))
    optim = build_optim_wrapper(model, cfg).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for g in optim.param_groups:
        for p in g['params']:
            out[names[id(p)]] = (g['lr'] / LR, g['weight_decay'])
    assert set(out) == set(names.values())  # every parameter once
    return out


def test_swin_v2_exact_scales_and_decay():
    g = groups(Wrapped(MODELS.build(SWIN)))
    # 5 blocks -> depths 0..6, scale = 0.9 ** (6 - depth)
    expected = {
        'backbone.patch_embed.projection.weight': 6,
        'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight': 5,
        'backbone.stages.1.downsample.reduction.weight': 5,
        'backbone.stages.1.blocks.0.ffn.layers.1.weight': 4,
        'backbone.stages.2.blocks.0.attn.w_msa.proj.weight': 3,
        'backbone.stages.2.blocks.1.attn.w_msa.proj.weight': 2,
        'backbone.stages.3.downsample.reduction.weight': 2,
        'backbone.stages.3.blocks.0.ffn.layers.0.0.weight': 1,
        'backbone.norm3.weight': 0,
        'head.weight': 0,
    }
    for name, power in expected.items():
        assert g[name][0] == pytest.approx(RATE**power), name
    # no weight decay for norms, biases, cpb MLP, logit scale, q/v biases
    for name in ['backbone.patch_embed.norm.weight',
                 'backbone.stages.0.blocks.0.norm1.weight',
                 'backbone.stages.0.blocks.0.attn.w_msa.proj.bias',
                 'backbone.stages.0.blocks.0.attn.w_msa.q_bias',
                 'backbone.stages.0.blocks.0.attn.w_msa.cpb_mlp.0.weight',
                 'backbone.stages.0.blocks.0.attn.w_msa.cpb_mlp.2.weight',
                 'backbone.stages.0.blocks.0.attn.w_msa.logit_scale',
                 'backbone.norm0.bias', 'head.bias']:
        assert g[name][1] == 0.0, name
    for name in ['backbone.patch_embed.projection.weight',
                 'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight',
                 'backbone.stages.1.downsample.reduction.weight',
                 'head.weight']:
        assert g[name][1] == WD, name


def test_vit_exact_scales_and_decay():
    g = groups(Wrapped(MODELS.build(VIT)))
    # 3 layers -> depths 0..4, scale = 0.9 ** (4 - depth)
    assert g['backbone.cls_token'] == (pytest.approx(RATE**4), 0.0)
    assert g['backbone.pos_embed'] == (pytest.approx(RATE**4), 0.0)
    assert g['backbone.patch_embed.projection.weight'] == (
        pytest.approx(RATE**4), WD)
    assert g['backbone.layers.0.attn.attn.in_proj_weight'] == (
        pytest.approx(RATE**3), WD)
    assert g['backbone.layers.0.ln1.weight'] == (pytest.approx(RATE**3), 0.)
    assert g['backbone.layers.2.ffn.layers.1.bias'] == (
        pytest.approx(RATE**1), 0.)
    assert g['head.weight'] == (pytest.approx(1.0), WD)


def _check_monotonic(g, prefix, block_key):
    """Scales of the encoder under ``prefix`` never decrease with depth."""
    seen = []
    for name, (scale, _) in g.items():
        if name.startswith(prefix + block_key):
            idx = name[len(prefix):].split('.')
            seen.append((tuple(int(i) for i in idx if i.isdigit())[:2],
                         scale))
    seen.sort()
    scales = [s for _, s in seen]
    assert scales == sorted(scales) and scales[0] < scales[-1] < 1.0


def test_monotonic_in_depth_inside_skysense_and_siamese():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'skysense_tiny.py'))
    sky = cfg.model.copy()
    sky.pop('type')
    model = Wrapped(MODELS.build(dict(
        type='SiameseBackbone', in_channels=3,
        backbone=dict(type='SkySense', **sky))))
    g = groups(model)
    hr = 'backbone.encoder.backbone_hr.'
    s2 = 'backbone.encoder.backbone_s2.'
    _check_monotonic(g, hr, 'stages.')
    _check_monotonic(g, s2, 'layers.')
    # HR: blocks (1, 1, 1, 1) -> top depth 5; S2: 2 layers -> top depth 3
    assert g[hr + 'patch_embed.projection.weight'][0] == pytest.approx(
        RATE**5)
    assert g[s2 + 'patch_embed.projection.weight'][0] == pytest.approx(
        RATE**3)
    assert g[s2 + 'layers.1.ffn.layers.1.weight'][0] == pytest.approx(RATE)
    # fusion neck and geo prototypes: top lr scale
    fusion = [v for k, v in g.items() if '.fusion_neck.' in k]
    assert fusion and all(s == pytest.approx(1.0) for s, _ in fusion)
    assert all(s == pytest.approx(1.0) for k, (s, _) in g.items()
               if '.geo_prototypes.' in k)


def test_num_layers_checked():
    model = Wrapped(MODELS.build(VIT))
    groups(model, num_layers=3)
    with pytest.raises(ValueError, match='num_layers=5.*3 blocks'):
        groups(model, num_layers=5)
    with pytest.raises(ValueError, match='no SkySenseSwinV2 or SkySenseViT'):
        groups(nn.Linear(2, 2))


def test_inside_mmseg_encoder_decoder_from_tiny_config():
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'benchmarks', 'seg', 'isaid',
        'skysense_swinv2-tiny_upernet_2iters_isaid-128x128.py'))
    init_default_scope('mmseg')
    from mmseg.registry import MODELS as SEG_MODELS
    model = SEG_MODELS.build(cfg.model)
    optim_cfg = cfg.optim_wrapper
    assert optim_cfg.constructor == \
        'skysense_mm.LayerDecayOptimWrapperConstructor'
    assert optim_cfg.paramwise_cfg.layer_decay_rate == 0.9
    optim = build_optim_wrapper(model, optim_cfg).optimizer
    base = optim_cfg.optimizer.lr
    by_name = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for grp in optim.param_groups:
        for p in grp['params']:
            by_name[names[id(p)]] = (grp['lr'] / base, grp['weight_decay'])
    # tiny Swin-V2 depths (1, 1, 2, 1): top depth 6
    assert by_name['backbone.patch_embed.projection.weight'][0] == \
        pytest.approx(0.9**6)
    assert by_name['backbone.stages.2.blocks.1.attn.w_msa.qkv.weight'][0] \
        == pytest.approx(0.9**2)
    assert by_name['decode_head.conv_seg.weight'] == (pytest.approx(1.0),
                                                      0.01)
    assert by_name['auxiliary_head.conv_seg.bias'] == (pytest.approx(1.0),
                                                       0.0)
    assert by_name['decode_head.bottleneck.bn.weight'][1] == 0.0


def test_depth_functions_huge_and_large():
    from skysense_mm.engine.optimizers import (swin_v2_layer_depth,
                                               vit_layer_depth)
    depths = [2, 2, 18, 2]  # Swin-V2-H of the iSAID / Potsdam configs
    assert swin_v2_layer_depth('patch_embed.projection.weight', depths) == 0
    assert swin_v2_layer_depth('stages.0.blocks.1.norm1.weight', depths) == 2
    assert swin_v2_layer_depth('stages.2.downsample.norm.weight',
                               depths) == 4
    assert swin_v2_layer_depth('stages.2.blocks.17.ffn.layers.1.weight',
                               depths) == 22
    assert swin_v2_layer_depth('stages.3.blocks.1.attn.w_msa.qkv.weight',
                               depths) == 24
    assert swin_v2_layer_depth('norm3.weight', depths) == 25
    # ViT-L of the OSCD S2 encoder
    assert vit_layer_depth('pos_embed', 24) == 0
    assert vit_layer_depth('layers.23.ln2.bias', 24) == 24
    assert vit_layer_depth('ln1.weight', 24) == 25
