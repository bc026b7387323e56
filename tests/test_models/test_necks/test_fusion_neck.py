"""Tests of the SkySense fusion neck (skysense_mm.models.necks.fusion_neck)."""
import itertools

import pytest
import torch
from mmseg.models.backbones.vit import TransformerEncoderLayer

from conftest import OFFICIAL_MANIFEST
from skysense_mm.models.necks import SkySenseFusionNeck
from skysense_mm.models.backbones.vit import SDPATransformerEncoderLayer
from skysense_mm.models.necks.fusion_neck import doy_to_index
from skysense_mm.registry import MODELS

C, C_VIT, D = 32, 16, 16
B, H, W = 2, 4, 4


def _neck(**kwargs):
    cfg = dict(in_channels=C,
               in_channels_s2=C_VIT,
               in_channels_s1=C_VIT,
               lift_scale=4,
               embed_dims=D,
               num_layers=2,
               num_heads=2,
               mlp_ratio=2,
               drop_path_rate=0.1)
    cfg.update(kwargs)
    torch.manual_seed(0)
    neck = SkySenseFusionNeck(**cfg)
    neck.init_weights()
    with torch.no_grad():  # the release initialises it to zeros
        neck.date_embedding.normal_()
    return neck.eval()


def _inputs(t2=3, t1=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return dict(hr=torch.randn(B, C, H, W, generator=g),
                s2=torch.randn(B, t2, C_VIT, H // 4, W // 4, generator=g),
                s1=torch.randn(B, t1, C_VIT, H // 4, W // 4, generator=g),
                s2_doy=torch.randint(1, 367, (B, t2), generator=g),
                s1_doy=torch.randint(1, 367, (B, t1), generator=g))


def _subset(inputs, modalities):
    return {k: v for k, v in inputs.items() if k.split('_')[0] in modalities}


@pytest.mark.parametrize('modalities', [
    c for r in (1, 2, 3) for c in itertools.combinations(('hr', 's2', 's1'), r)
])
def test_output_shape_every_modality_mix(modalities):
    neck = _neck()
    out = neck(**_subset(_inputs(), modalities))
    assert out.shape == (B, D, H, W)
    assert torch.isfinite(out).all()


def test_registered_and_key_layout_matches_release():
    """Full size on the meta device: keys/shapes = the official manifest."""
    with torch.device('meta'):
        neck = MODELS.build(dict(type='skysense_mm.SkySenseFusionNeck'))
    ours = {k: tuple(v.shape) for k, v in neck.state_dict().items()}
    rename = (('fusion.porj_linear.', 'fusion.proj.'),
              ('head_s2.', 'lift_s2.'), ('head_s1.', 'lift_s1.'),
              ('fusion.', 'fusion.'), ('ctpe', 'date_embedding'))
    official = {}
    manifest = OFFICIAL_MANIFEST
    with open(manifest) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            _, key, shape = line.rstrip('\n').split('\t')
            for src, dst in rename:
                if key.startswith(src):
                    key = dst + key[len(src):]
                    official[key] = tuple(int(s) for s in shape.split('x'))
                    break
    assert ours == official


def test_fusion_layer_parity_with_mmseg_and_padding_mask():
    torch.manual_seed(0)
    kw = dict(embed_dims=32,
              num_heads=4,
              feedforward_channels=64,
              drop_path_rate=0.2,
              qkv_bias=True)
    ref = TransformerEncoderLayer(**kw, attn_cfg=dict(), ffn_cfg=dict())
    ours = SDPATransformerEncoderLayer(**kw)  # the fusion's layer
    assert ours.state_dict().keys() == ref.state_dict().keys()
    ours.load_state_dict(ref.state_dict())
    ref.eval(), ours.eval()
    x = torch.randn(6, 9, 32)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-6, rtol=1e-5)
    # with a key-padding mask: the library attention with key_padding_mask
    valid = torch.rand(6, 9) > 0.4
    valid[:, 0] = True
    want = ref.attn(ref.ln1(x), identity=x, key_padding_mask=~valid)
    want = ref.ffn(ref.ln2(want), identity=want)
    got = ours(x, ~valid)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_with_cp_same_output_and_grads():
    inputs = _inputs()
    outs, grads = [], []
    for with_cp in (False, True):
        neck = _neck(with_cp=with_cp)
        neck.train()
        torch.manual_seed(3)
        out = neck(**inputs)
        out.square().mean().backward()
        outs.append(out.detach())
        grads.append({n: p.grad.clone() for n, p in neck.named_parameters()})
    torch.testing.assert_close(outs[0], outs[1])
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], msg=name)


def test_gradient_reaches_every_parameter():
    neck = _neck().train()
    inputs = _inputs()
    inputs['hr_doy'] = torch.tensor([10, 200])
    neck(**inputs).square().mean().backward()
    for name, p in neck.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


def test_leap_day():
    doy = torch.tensor([1, 2, 59, 60, 365, 366])
    assert doy_to_index(doy).tolist() == [0, 1, 58, 59, 364, 364]
    neck = _neck()
    inputs = _subset(_inputs(t2=1), ('hr', 's2'))
    inputs['s2_doy'] = torch.full((B, 1), 366)
    out_366 = neck(**inputs)
    inputs['s2_doy'] = torch.full((B, 1), 365)
    torch.testing.assert_close(neck(**inputs), out_366)
    inputs['s2_doy'] = torch.full((B, 1), 1)
    assert not torch.allclose(neck(**inputs), out_366)


def test_date_embedding_is_used_per_modality():
    neck = _neck()
    inputs = _inputs()
    base = neck(**inputs)
    for key in ('s2_doy', 's1_doy'):
        changed = dict(inputs)
        changed[key] = changed[key] % 366 + 1
        assert not torch.allclose(neck(**changed), base), key
    no_dates = {k: v for k, v in inputs.items() if not k.endswith('doy')}
    assert not torch.allclose(neck(**no_dates), base)


def test_padded_dates_change_nothing():
    neck = _neck()
    full = _inputs(t2=4, t1=3, seed=5)
    # sample 0 really has 2 S2 dates and 1 S1 date, sample 1 has all
    lengths = {'s2': (2, 4), 's1': (1, 3)}
    batch = dict(hr=full['hr'])
    for m, (n0, t) in lengths.items():
        mask = torch.ones(B, t, dtype=torch.bool)
        mask[0, n0:] = False
        feats, doy = full[m].clone(), full[m + '_doy'].clone()
        feats[0, n0:] = 1e3 * torch.randn_like(feats[0, n0:])  # garbage
        doy[0, n0:] = 0  # out of range, ignored where padded
        batch.update({m: feats, m + '_doy': doy, m + '_mask': mask})
    out = neck(**batch)
    alone = neck(hr=full['hr'][:1],
                 s2=full['s2'][:1, :2],
                 s2_doy=full['s2_doy'][:1, :2],
                 s1=full['s1'][:1, :1],
                 s1_doy=full['s1_doy'][:1, :1])
    torch.testing.assert_close(out[:1], alone, atol=1e-5, rtol=1e-5)
    unpadded = neck(**{k: v[1:] for k, v in full.items()})
    torch.testing.assert_close(out[1:], unpadded, atol=1e-5, rtol=1e-5)
    # all dates of a modality masked = that modality absent
    mask = torch.zeros(1, 4, dtype=torch.bool)
    masked = neck(hr=full['hr'][:1],
                  s2=full['s2'][:1],
                  s2_doy=full['s2_doy'][:1],
                  s2_mask=mask)
    torch.testing.assert_close(masked,
                               neck(hr=full['hr'][:1]),
                               atol=1e-5,
                               rtol=1e-5)


@pytest.mark.parametrize('change,match', [
    (dict(s2_doy=torch.zeros(B, 3, dtype=torch.long)), 's2_doy'),
    (dict(s1_doy=torch.full((B, 2), 367)), 's1_doy'),
    (dict(s2_doy=torch.ones(B, 2, dtype=torch.long)), 'same length'),
    (dict(s2_mask=torch.ones(B, 2, dtype=torch.bool)), 's2_mask'),
    (dict(s2_mask=torch.ones(B, 3)), 's2_mask'),
    (dict(s2=torch.zeros(B, 0, C_VIT, 1, 1),
          s2_doy=torch.zeros(B, 0, dtype=torch.long)), 'empty series'),
    (dict(s1=torch.zeros(B, 2, C_VIT, 2, 2)), 'different spatial extents'),
    (dict(hr=torch.zeros(B, C + 1, H, W)), '`hr`'),
    (dict(hr_doy=torch.tensor([0, 1])), 'hr_doy'),
])
def test_bad_input_errors(change, match):
    inputs = _inputs()
    inputs.update(change)
    with pytest.raises((ValueError, TypeError), match=match):
        _neck()(**inputs)


def test_missing_modality_errors():
    with pytest.raises(ValueError, match='at least one'):
        _neck()()
    neck = _neck(in_channels_s1=None)
    assert neck.modalities == ('hr', 's2')
    with pytest.raises(ValueError, match='no lift'):
        neck(**_subset(_inputs(), ('s1', )))
    with pytest.raises(ValueError, match='without `s2`'):
        neck(hr=_inputs()['hr'], s2_doy=torch.ones(B, 1))


def test_neck_matches_official_forward():
    """Whole neck = the release's forward (UPHead lifts, ctpe added before
    porj_linear, cls token, mmseg TransformerEncoderLayer stack)."""
    neck = _neck()
    inputs = _inputs()
    refs = torch.nn.ModuleList()
    for layer in neck.fusion.layers:
        ref = TransformerEncoderLayer(embed_dims=D,
                                      num_heads=2,
                                      feedforward_channels=2 * D,
                                      attn_cfg=dict(),
                                      ffn_cfg=dict())
        ref.load_state_dict(layer.state_dict())
        refs.append(ref.eval())

    def lifted(name):
        x = inputs[name]
        b, t = x.shape[:2]
        up = getattr(neck, f'lift_{name}').decoder(x.flatten(0, 1))
        up = up.reshape(b, t, C, H, W).permute(0, 3, 4, 1, 2)
        ctpe = neck.date_embedding[:, inputs[f'{name}_doy'].clamp(max=365) -
                                   1]  # 1, B, T, C
        up = up + ctpe[0][:, None, None]
        return up.reshape(b * H * W, t, C)

    hr = inputs['hr'].permute(0, 2, 3, 1).reshape(B * H * W, 1, C)
    x = neck.fusion.proj(torch.cat([hr, lifted('s2'), lifted('s1')], 1))
    x = torch.cat([neck.fusion.cls_token.expand(x.shape[0], -1, -1), x], 1)
    for ref in refs:
        x = ref(x)
    want = x[:, 0].reshape(B, H, W, D).permute(0, 3, 1, 2)
    torch.testing.assert_close(neck(**inputs), want, atol=1e-5, rtol=1e-5)
