"""Tests of the top-level SkySense model (skysense_mm.models.backbones)."""
import functools
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from skysense_mm.apis import init_model
from skysense_mm.apis.inference import _quiet_init_weights
from skysense_mm.models.backbones import SkySense
from skysense_mm.registry import MODELS

CFG_DIR = osp.join(ROOT, 'configs', '_base_', 'models')
B = 2
HR_SHAPES = [(B, 32, 32, 32), (B, 64, 16, 16), (B, 128, 8, 8), (B, 256, 4, 4)]
D = 64  # fusion embed_dims of the tiny config


def _tiny_cfg(drop=(), **overrides):
    cfg = Config.fromfile(osp.join(CFG_DIR, 'skysense_tiny.py')).model
    cfg = cfg.to_dict()
    for key in drop:
        cfg.pop(key)
    cfg.update(overrides)
    return cfg


def _build(drop=(), **overrides):
    torch.manual_seed(0)
    model = MODELS.build(_tiny_cfg(drop, **overrides))
    _quiet_init_weights(model)
    with torch.no_grad():
        if hasattr(model, 'fusion_neck'):  # zeros in the release
            model.fusion_neck.date_embedding.normal_()
    return model.eval()


@functools.lru_cache(maxsize=None)
def _cached(drop, overrides):
    return _build(drop, **dict(overrides))


def _model(drop=(), **overrides):
    """A shared eval-mode model (build a fresh one to train it)."""
    return _cached(tuple(drop), tuple(sorted(overrides.items())))


def _inputs(t2=3, t1=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(hr=torch.randn(B, 3, 128, 128, generator=g),
                s2=torch.randn(B, t2, 10, 4, 4, generator=g),
                s2_doy=torch.randint(1, 367, (B, t2), generator=g),
                s1=torch.randn(B, t1, 2, 4, 4, generator=g),
                s1_doy=torch.randint(1, 367, (B, t1), generator=g),
                latlon=torch.tensor([[30.5, 114.3], [-15.8, -47.9]]))


def _subset(inputs, modalities):
    keep = set(modalities) | {'latlon'}
    return {k: v for k, v in inputs.items() if k.split('_')[0] in keep}


MIXES = [('hr', ), ('s2', ), ('s1', ), ('hr', 's2'), ('hr', 's1'),
         ('s2', 's1'), ('hr', 's2', 's1')]


@pytest.mark.parametrize('geo', [False, True])
@pytest.mark.parametrize('modalities', MIXES)
@torch.no_grad()
def test_fused_output_shapes_every_mix(modalities, geo):
    model = _model(drop=() if geo else ('geo_prototypes', ))
    outs = model(_subset(_inputs(), modalities))
    fused = (B, 2 * D if geo else D, 4, 4)
    if 'hr' in modalities:
        assert [o.shape for o in outs] == HR_SHAPES + [fused]
    else:
        assert [o.shape for o in outs] == [fused]
    feats = model.forward_features(_subset(_inputs(), modalities))
    assert feats['fused_mm'].shape == (B, D, 4, 4)
    assert ('region_idx' in feats) == geo
    for m in ('s2', 's1'):
        if m in modalities:
            t = 3 if m == 's2' else 2
            assert [f.shape for f in feats[m]] == [(B, t, 64, 1, 1)] * 2


@torch.no_grad()
def test_single_encoders_alone():
    """Fig. 3: each spatial encoder alone, as a plain-tensor backbone."""
    hr_only = _model(drop=('backbone_s2', 'backbone_s1', 'fusion_neck',
                           'geo_prototypes'))
    outs = hr_only(torch.randn(B, 3, 128, 128))
    assert [o.shape for o in outs] == HR_SHAPES
    s2_only = _model(drop=('backbone_hr', 'backbone_s1', 'fusion_neck',
                           'geo_prototypes'))
    x = torch.randn(B, 10, 16, 16)
    outs = s2_only(x)  # plain tensor -> the only encoder, one date
    assert [o.shape for o in outs] == [(B, 64, 4, 4)] * 2
    # a series without fusion: the mean of the real dates
    series = torch.stack([x, 2 * x], 1)
    mask = torch.tensor([[True, False], [True, True]])
    outs_series = s2_only(dict(s2=series, s2_mask=mask))
    single = s2_only(dict(s2=x))
    double = s2_only(dict(s2=2 * x))
    torch.testing.assert_close(outs_series[-1][0], single[-1][0])
    torch.testing.assert_close(outs_series[-1][1],
                               (single[-1][1] + double[-1][1]) / 2)
    s1_only = _model(drop=('backbone_hr', 'backbone_s2', 'fusion_neck',
                           'geo_prototypes'))
    assert [o.shape
            for o in s1_only(torch.randn(B, 2, 8, 8))] == [(B, 64, 2, 2)] * 2


@torch.no_grad()
def test_replace_output_and_hr_with_geo_only():
    model = _model(fused_output='replace')
    outs = model(_subset(_inputs(), ('hr', )))
    assert [o.shape for o in outs] == HR_SHAPES[:3] + [(B, 2 * D, 4, 4)]


def test_gradient_reaches_every_trainable_parameter_not_prototypes():
    model = _build().train()
    inputs = _inputs()
    inputs['s2_mask'] = torch.tensor([[True, True, False], [True] * 3])
    outs = model(inputs)
    sum(o.square().mean() for o in outs).backward()
    # the ViT class token exists for the official key layout but is not
    # used with with_cls_token=False (the tiny/paper configs, as SkySense++)
    unused = {
        f'backbone_{m}.cls_token'
        for m in ('s2', 's1')
        if not getattr(model, f'backbone_{m}').with_cls_token
    }
    missing = [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None and n not in unused
    ]
    assert missing == []
    assert model.geo_prototypes.prototypes.grad is None
    assert not model.geo_prototypes.prototypes.requires_grad
    names = [n for n, _ in model.named_parameters()]
    assert not any('prototypes' in n for n in names)
    # the fused path is trained: nonzero gradients in every fusion part
    for name, p in model.fusion_neck.named_parameters():
        assert p.grad.abs().sum() > 0, name


@torch.no_grad()
def test_padded_dates_change_nothing_for_real_dates():
    model = _model()
    full = _inputs(t2=4, t1=3, seed=2)
    batch = dict(full)
    for m, n0 in (('s2', 2), ('s1', 1)):
        t = full[m].shape[1]
        mask = torch.ones(B, t, dtype=torch.bool)
        mask[0, n0:] = False
        x, doy = full[m].clone(), full[m + '_doy'].clone()
        x[0, n0:] = float('nan')  # never encoded
        doy[0, n0:] = 0  # ignored
        batch.update({m: x, m + '_doy': doy, m + '_mask': mask})
    outs = model(batch)
    alone = model(
        dict(hr=full['hr'][:1],
             s2=full['s2'][:1, :2],
             s2_doy=full['s2_doy'][:1, :2],
             s1=full['s1'][:1, :1],
             s1_doy=full['s1_doy'][:1, :1],
             latlon=full['latlon'][:1]))
    other = model({k: v[1:] for k, v in full.items()})
    for out, a, o in zip(outs, alone, other):
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out[:1], a, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out[1:], o, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_leap_day_in_model():
    model = _model()
    inputs = _subset(_inputs(t2=1), ('hr', 's2'))
    inputs['s2_doy'] = torch.full((B, 1), 366)
    leap = model(inputs)[-1]
    inputs['s2_doy'] = torch.full((B, 1), 365)
    torch.testing.assert_close(model(inputs)[-1], leap)


@pytest.mark.parametrize('change,match', [
    (dict(hr=torch.zeros(B, 5, 128, 128)), 'bands'),
    (dict(s2=torch.zeros(B, 3, 4, 4, 4)), 'bands'),
    (dict(s1=torch.zeros(B, 2, 3, 4, 4)), 'bands'),
    (dict(s2=torch.zeros(B, 3, 10, 8, 8)), 'spatial extents'),
    (dict(hr=torch.zeros(B, 3, 256, 256)), 'spatial extents'),
    (dict(s2_doy=torch.full((B, 3), 367)), 's2_doy'),
    (dict(s1_doy=torch.zeros(B, 2, dtype=torch.long)), 's1_doy'),
    (dict(s2_doy=torch.ones(B, 4, dtype=torch.long)), 'same length'),
    (dict(s2=torch.zeros(B, 0, 10, 4, 4),
          s2_doy=torch.zeros(B, 0, dtype=torch.long)), 'empty series'),
    (dict(s2_mask=torch.zeros(B, 3, dtype=torch.bool)), 'empty series'),
    (dict(latlon=torch.tensor([[91., 0.], [0., 0.]])), 'latitude'),
    (dict(latlon=torch.tensor([[0., -181.], [0., 0.]])), 'longitude'),
    (dict(latlon=None), 'latlon'),
    (dict(s3=torch.zeros(1)), 'unknown'),
    (dict(hr=torch.zeros(B + 1, 3, 128, 128)), 'batch sizes'),
    (dict(hr=torch.zeros(3, 128, 128)), '`hr` must be'),
])
@torch.no_grad()
def test_bad_input_errors(change, match):
    inputs = _inputs()
    inputs.update(change)
    with pytest.raises((ValueError, TypeError), match=match):
        _model()(inputs)


def test_config_errors():
    with pytest.raises(ValueError, match='at least one'):
        SkySense()
    with pytest.raises(ValueError, match='fusion_neck'):
        _model(drop=('fusion_neck', ))
    no_neck = _model(drop=('fusion_neck', 'geo_prototypes'))
    with pytest.raises(ValueError, match='needs a fusion_neck'):
        no_neck(_subset(_inputs(), ('hr', 's2')))
    hr_only = _model(drop=('backbone_s2', 'backbone_s1', 'fusion_neck',
                           'geo_prototypes'))
    with pytest.raises(ValueError, match='no backbone_s2'):
        hr_only(_subset(_inputs(), ('hr', 's2')))
    with pytest.raises(TypeError, match='Tensor or a dict'):
        hr_only([torch.zeros(1)])


@torch.no_grad()
def test_granularities():
    model = _model()
    inputs = _inputs()
    feats = model.extract_features(inputs, ('pixel', 'object', 'image'),
                                   num_objects=3)
    pixel = feats['pixel']
    assert pixel.shape == (B, 2 * D, 4, 4)
    torch.testing.assert_close(feats['image'], pixel.mean((2, 3)))
    assert feats['object'].shape == (B, 3, 2 * D)
    # masks: the whole image is one object, a quadrant is another
    masks = torch.zeros(B, 2, 128, 128)
    masks[:, 0] = 1
    masks[:, 1, :64, :64] = 1
    objs = model.extract_features(inputs, 'object', object_masks=masks)
    torch.testing.assert_close(objs['object'][:, 0], feats['image'])
    torch.testing.assert_close(objs['object'][:, 1], pixel[:, :, :2, :2].mean(
        (2, 3)))
    with pytest.raises(ValueError, match='granularity'):
        model.extract_features(inputs, 'region')
    masks[:, 1] = 0
    with pytest.raises(ValueError, match='covers no pixel'):
        model.extract_features(inputs, 'object', object_masks=masks)


def test_drops_into_mmseg_encoder_decoder():
    from mmseg.models import EncoderDecoder  # noqa: F401 (registers)
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    backbone = _tiny_cfg(drop=('backbone_s2', 'backbone_s1', 'fusion_neck',
                               'geo_prototypes'))
    cfg = dict(type='mmseg.EncoderDecoder',
               backbone=backbone,
               decode_head=dict(
                   type='mmseg.UPerHead',
                   in_channels=[32, 64, 128, 256],
                   in_index=[0, 1, 2, 3],
                   channels=32,
                   num_classes=3,
                   norm_cfg=dict(type='GN', num_groups=4),
                   loss_decode=dict(type='mmseg.CrossEntropyLoss')))
    model = MODELS.build(cfg)
    assert isinstance(model.backbone, SkySense)
    sample = SegDataSample(gt_sem_seg=PixelData(
        data=torch.randint(0, 3, (1, 128, 128))))
    sample.set_metainfo(dict(img_shape=(128, 128), pad_shape=(128, 128)))
    losses = model.loss(torch.randn(1, 3, 128, 128), [sample])
    assert torch.isfinite(losses['decode.loss_ce'])


def test_paper_config_on_meta_device_size():
    model = init_model(osp.join(CFG_DIR, 'skysense_paper.py'), device='meta')
    assert all(p.is_meta for p in model.parameters())
    params = sum(p.numel() for p in model.parameters())
    protos = model.geo_prototypes.prototypes
    assert protos.shape == (4096, 100, 1024)
    total = params + protos.numel()
    assert abs(total - 2.06e9) / 2.06e9 < 0.02, total
    fusion = sum(p.numel() for p in model.fusion_neck.fusion.parameters())
    assert abs(fusion - 305e6) / 305e6 < 0.02, fusion
    assert model.fusion_neck.lift_s2.decoder[0].weight.shape == (45056, 1024,
                                                                 1, 1)
    assert model.fusion_neck.date_embedding.shape == (1, 365, 2816)
