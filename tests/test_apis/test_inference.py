"""Tests of skysense_mm.apis: init_model and extract_features."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from skysense_mm.apis import extract_features, init_model
from skysense_mm.models.backbones import SkySense
from skysense_mm.registry import MODELS

TINY = osp.join(ROOT, 'configs', '_base_', 'models', 'skysense_tiny.py')


def _inputs():
    g = torch.Generator().manual_seed(0)
    return dict(hr=torch.randn(1, 3, 128, 128, generator=g),
                s2=torch.randn(1, 2, 10, 4, 4, generator=g),
                s2_doy=torch.tensor([[45, 366]]),
                s1=torch.randn(1, 1, 2, 4, 4, generator=g),
                s1_doy=torch.tensor([[200]]),
                latlon=torch.tensor([[52.5, 13.4]]))


def test_init_model_from_file_and_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = init_model(TINY)
    assert isinstance(model, SkySense) and not model.training
    assert model.cfg.type == 'skysense_mm.SkySense'
    inputs = _inputs()
    with torch.no_grad():
        want = model(inputs)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    torch.manual_seed(1)  # another initialisation, overwritten by the file
    loaded = init_model(Config.fromfile(TINY), ckpt)
    with torch.no_grad():
        got = loaded(inputs)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)
    # cfg_options reach the model; a plain model dict works too
    small = init_model(TINY, cfg_options={'model.fused_output': 'replace'})
    assert small.fused_output == 'replace'
    bare = init_model(Config.fromfile(TINY).model.to_dict())
    assert isinstance(bare, SkySense)


def test_checkpoint_of_another_architecture_names_the_keys(tmp_path):
    other = Config.fromfile(TINY)
    other.model.fusion_neck.num_layers = 1
    other.model.geo_prototypes.num_prototypes = 4
    ckpt = str(tmp_path / 'other.pth')
    torch.save({'state_dict': init_model(other).state_dict()}, ckpt)
    with pytest.raises(ValueError) as err:
        init_model(TINY, ckpt)
    msg = str(err.value)
    assert 'fusion_neck.fusion.layers.1.attn.attn.in_proj_weight' in msg
    assert 'geo_prototypes.prototypes' in msg


def test_init_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='config'):
        init_model(str(tmp_path / 'nope.py'))
    with pytest.raises(FileNotFoundError, match='checkpoint'):
        init_model(TINY, str(tmp_path / 'nope.pth'))
    with pytest.raises(ValueError, match='meta'):
        init_model(TINY, str(tmp_path / 'x.pth'), device='meta')
    with pytest.raises(TypeError, match='config'):
        init_model(3)
    meta = init_model(TINY, device='meta')
    assert all(p.is_meta for p in meta.parameters())
    assert meta.geo_prototypes.prototypes.is_meta


def test_extract_features_every_granularity():
    model = init_model(TINY)
    model.train()  # extract_features runs in eval mode and restores it
    feats = extract_features(model, _inputs(), num_objects=4)
    assert model.training
    assert feats['pixel'].shape == (1, 128, 4, 4)
    assert feats['image'].shape == (1, 128)
    assert feats['object'].shape == (1, 4, 128)
    assert not feats['pixel'].requires_grad
    model.eval()
    with torch.no_grad():
        direct = model(_inputs())[-1]
    torch.testing.assert_close(feats['pixel'], direct)
    only = extract_features(model, _inputs(), granularity='image')
    assert list(only) == ['image']
    torch.testing.assert_close(only['image'], feats['image'])


def test_extract_features_through_a_wrapper():
    from mmseg.models import EncoderDecoder  # noqa: F401 (registers)
    backbone = Config.fromfile(TINY).model.to_dict()
    for key in ('backbone_s2', 'backbone_s1', 'fusion_neck', 'geo_prototypes'):
        backbone.pop(key)
    seg = MODELS.build(
        dict(type='mmseg.EncoderDecoder',
             backbone=backbone,
             decode_head=dict(type='mmseg.FCNHead',
                              in_channels=256,
                              in_index=3,
                              channels=16,
                              num_convs=1,
                              num_classes=3,
                              norm_cfg=dict(type='GN', num_groups=4))))
    hr = torch.randn(2, 3, 128, 128)
    feats = extract_features(seg, hr, ('pixel', 'image'))
    assert feats['pixel'].shape == (2, 256, 4, 4)
    assert feats['image'].shape == (2, 256)
    with pytest.raises(TypeError, match='SkySense'):
        extract_features(torch.nn.Linear(2, 2), hr)
