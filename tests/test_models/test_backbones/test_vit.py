"""Tests of the SkySense S2/S1 ViT encoder (models/backbones/vit.py)."""
import pytest
import torch
import torch.nn as nn
from mmseg.models.backbones import VisionTransformer

from skysense_mm.models.backbones import SkySenseViT
from skysense_mm.models.backbones.vit import (MODALITY_BANDS,
                                              SDPAMultiheadAttention)
from skysense_mm.registry import MODELS

TINY = dict(embed_dims=32, num_layers=2, num_heads=2)


def _tiny(**kwargs):
    cfg = dict(arch=TINY, img_size=32, out_indices=(0, 1))
    cfg.update(kwargs)
    model = SkySenseViT(**cfg)
    model.init_weights()
    return model


def _mmseg_ref(in_channels, img_size=32, out_indices=(0, 1), **kwargs):
    """The library module with the architecture of the official weights."""
    cfg = dict(
        img_size=img_size,
        patch_size=4,
        in_channels=in_channels,
        embed_dims=TINY['embed_dims'],
        num_layers=TINY['num_layers'],
        num_heads=TINY['num_heads'],
        mlp_ratio=4,
        out_indices=out_indices,
        qkv_bias=True,
        with_cls_token=True,
        final_norm=False,
        patch_bias=False)
    cfg.update(kwargs)
    return VisionTransformer(**cfg)


@pytest.mark.parametrize('modality,bands', [('s2', 10), ('s1', 2)])
def test_shapes_every_level(modality, bands):
    model = _tiny(modality=modality).eval()
    assert model.in_channels == bands
    x = torch.randn(2, bands, 32, 32)
    outs = model(x)
    assert len(outs) == 2
    for out in outs:
        assert out.shape == (2, 32, 8, 8)
    # non-square, other size than img_size: pos embed is interpolated
    outs = model(torch.randn(1, bands, 16, 24))
    assert [tuple(o.shape) for o in outs] == [(1, 32, 4, 6)] * 2
    # cls token output
    model = _tiny(modality=modality, output_cls_token=True).eval()
    outs = model(x)
    for feat, cls in outs:
        assert feat.shape == (2, 32, 8, 8)
        assert cls.shape == (2, 32)


def test_registry_and_arch_zoo():
    model = MODELS.build(
        dict(type='SkySenseViT', arch=TINY, modality='s1', img_size=16))
    assert isinstance(model, SkySenseViT)
    assert model.patch_embed.projection.weight.shape == (32, 2, 4, 4)
    assert model.pos_embed.shape == (1, 17, 32)
    with torch.device('meta'):
        for arch, (dims, depth) in dict(
                tiny=(192, 12), small=(384, 12), base=(768, 12),
                large=(1024, 24)).items():
            m = SkySenseViT(arch=arch)
            assert m.embed_dims == dims and len(m.layers) == depth
            assert m.layers[0].ffn.layers[0][0].out_features == 4 * dims


@pytest.mark.parametrize('img_size,input_size', [(32, 32), (16, 32)])
@pytest.mark.parametrize('modality,bands', [('s2', 10), ('s1', 2)])
def test_parity_with_mmseg(modality, bands, img_size, input_size):
    torch.manual_seed(0)
    ref = _mmseg_ref(bands, img_size=img_size, output_cls_token=True,
                     drop_path_rate=0.1)
    ref.init_weights()
    # non-trivial pos/cls/bias values
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.02 * torch.randn_like(p))
    ref.eval()
    model = _tiny(modality=modality, img_size=img_size,
                  output_cls_token=True, drop_path_rate=0.1).eval()
    assert set(model.state_dict()) == set(ref.state_dict())
    model.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, bands, input_size, input_size)
    with torch.no_grad():
        expected = ref(x)
        got = model(x)
    assert len(got) == len(expected) == 2
    for (f, c), (ef, ec) in zip(got, expected):
        assert f.shape == ef.shape
        torch.testing.assert_close(f, ef, atol=1e-4, rtol=0)
        torch.testing.assert_close(c, ec, atol=1e-4, rtol=0)


def test_parity_gradients_with_mmseg():
    torch.manual_seed(1)
    ref = _mmseg_ref(10)
    ref.init_weights()
    model = _tiny()
    model.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 10, 32, 32)
    sum(o.square().sum() for o in ref(x)).backward()
    sum(o.square().sum() for o in model(x)).backward()
    ref_grads = {n: p.grad for n, p in ref.named_parameters()}
    for name, p in model.named_parameters():
        torch.testing.assert_close(
            p.grad, ref_grads[name], atol=1e-4, rtol=1e-4, msg=name)


def test_state_dict_round_trip():
    torch.manual_seed(2)
    model = _tiny(modality='s1').eval()
    sd = model.state_dict()
    other = SkySenseViT(arch=TINY, modality='s1', img_size=32,
                        out_indices=(0, 1)).eval()
    other.load_state_dict(sd, strict=True)
    for k, v in other.state_dict().items():
        assert torch.equal(v, sd[k]), k
    x = torch.randn(1, 2, 32, 32)
    for a, b in zip(model(x), other(x)):
        assert torch.equal(a, b)


def test_pos_embed_resized_on_load():
    torch.manual_seed(3)
    # official layout: img_size 16 -> 4x4 + 1 = 17 tokens
    src = _tiny(img_size=16).eval()
    assert src.pos_embed.shape == (1, 17, 32)
    dst = SkySenseViT(arch=TINY, img_size=32, out_indices=(0, 1)).eval()
    assert dst.pos_embed.shape == (1, 65, 32)
    result = dst.load_state_dict(src.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    expected = VisionTransformer.resize_pos_embed(src.pos_embed.detach(),
                                                  (8, 8), (4, 4), 'bicubic')
    torch.testing.assert_close(dst.pos_embed.detach(), expected)
    # src interpolates at run time, dst was resized once: same result
    x = torch.randn(2, 10, 32, 32)
    with torch.no_grad():
        for a, b in zip(src(x), dst(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    # with a prefix (as inside the SkySense model) and mmengine's loader
    from mmengine.runner.checkpoint import load_state_dict
    wrapper = nn.Module()
    wrapper.backbone_s2 = SkySenseViT(arch=TINY, img_size=24)
    sd = {f'backbone_s2.{k}': v for k, v in src.state_dict().items()}
    load_state_dict(wrapper, sd, strict=True)
    assert wrapper.backbone_s2.pos_embed.shape == (1, 37, 32)
    assert sd['backbone_s2.pos_embed'].shape == (1, 17, 32)  # not mutated


def test_pretrained_init_cfg_with_prefix(tmp_path):
    torch.manual_seed(10)
    src = _tiny(img_size=16)
    ckpt = tmp_path / 'backbone_s2.pth'
    torch.save(
        dict(state_dict={
            f'backbone_s2.{k}': v
            for k, v in src.state_dict().items()
        }), ckpt)
    model = SkySenseViT(
        arch=TINY,
        img_size=32,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(ckpt), prefix='backbone_s2.'))
    model.init_weights()
    torch.testing.assert_close(model.layers[1].ffn.layers[1].weight,
                               src.layers[1].ffn.layers[1].weight)
    expected = SkySenseViT.resize_pos_embed(src.pos_embed.detach(), (8, 8),
                                            (4, 4))
    torch.testing.assert_close(model.pos_embed.detach(), expected)


def test_pos_embed_bad_checkpoint():
    model = _tiny()
    sd = model.state_dict()
    sd['pos_embed'] = torch.zeros(1, 18, 32)  # 17 patches: not square
    with pytest.raises(RuntimeError, match='pos_embed'):
        model.load_state_dict(sd)
    sd['pos_embed'] = torch.zeros(1, 17, 48)  # other width
    with pytest.raises(RuntimeError, match='pos_embed'):
        model.load_state_dict(sd)


def test_gradient_reaches_every_parameter():
    torch.manual_seed(4)
    model = _tiny(output_cls_token=True).train()
    outs = model(torch.randn(2, 10, 32, 32))
    loss = sum(f.square().mean() + c.square().mean() for f, c in outs)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.requires_grad, name
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


def test_layers_after_last_out_index_are_skipped():
    torch.manual_seed(5)
    full = _tiny(out_indices=(0, 1)).eval()
    first = SkySenseViT(arch=TINY, img_size=32, out_indices=0).eval()
    first.load_state_dict(full.state_dict())
    x = torch.randn(1, 10, 32, 32)
    (a, ) = first(x)
    torch.testing.assert_close(a, full(x)[0])
    assert SkySenseViT(arch=TINY, out_indices=-1).out_indices == (1, )


def test_with_cp_identical(monkeypatch):
    import skysense_mm.models.backbones.vit as vit_module
    calls = []
    checkpoint = vit_module.cp.checkpoint

    def counting_checkpoint(*args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return checkpoint(*args, **kwargs)

    monkeypatch.setattr(vit_module.cp, 'checkpoint', counting_checkpoint)
    torch.manual_seed(6)
    model = _tiny(drop_path_rate=0.2, drop_rate=0.1).train()
    model_cp = _tiny(drop_path_rate=0.2, drop_rate=0.1, with_cp=True).train()
    model_cp.load_state_dict(model.state_dict())
    x = torch.randn(2, 10, 32, 32)
    grads = []
    outs = []
    for m in (model, model_cp):
        torch.manual_seed(7)
        out = m(x)
        sum(o.sum() for o in out).backward()
        outs.append(out)
        grads.append({n: p.grad.clone() for n, p in m.named_parameters()})
    assert calls == [False, False]  # both layers, non-reentrant
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name],
                                   atol=1e-5, rtol=1e-5, msg=name)


def test_sdpa_attention_matches_torch_mha_with_padding_mask():
    torch.manual_seed(8)
    attn = SDPAMultiheadAttention(32, 4).eval()
    x = torch.randn(3, 7, 32)
    mask = torch.zeros(3, 7, dtype=torch.bool)
    mask[1, 5:] = True
    mask[2, 2:] = True
    ref, _ = attn.attn(x, x, x, key_padding_mask=mask, need_weights=False)
    out = attn(x, identity=torch.zeros_like(x), key_padding_mask=mask)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    with pytest.raises(TypeError, match='key_padding_mask'):
        attn(x, key_padding_mask=mask.float())
    with pytest.raises(ValueError, match='key_padding_mask'):
        attn(x, key_padding_mask=mask[:, :3])


def test_bf16_autocast_runs():
    model = _tiny().eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        outs = model(torch.randn(1, 10, 32, 32))
    assert all(torch.isfinite(o.float()).all() for o in outs)


def test_input_errors():
    s2 = _tiny(modality='s2')
    s1 = _tiny(modality='s1')
    with pytest.raises(ValueError, match=r"'s2'.*10 bands \(B2.*B12\).*got 3"):
        s2(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r"'s1'.*2 bands \(VV, VH\).*got 10"):
        s1(torch.randn(1, 10, 32, 32))
    with pytest.raises(ValueError, match='multiples of the patch size 4'):
        s2(torch.randn(1, 10, 30, 32))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        s2(torch.randn(10, 32, 32))
    with pytest.raises(TypeError, match='floating-point'):
        s2(torch.zeros(1, 10, 32, 32, dtype=torch.int16))
    with pytest.raises(TypeError, match='torch.Tensor'):
        s2([[1.0]])
    x = torch.randn(1, 10, 32, 32)
    x[0, 8, 3, 4] = float('nan')
    with pytest.raises(ValueError, match=r"'s2'.*NaN.*\['B11'\]"):
        s2(x)
    x = torch.randn(1, 2, 32, 32)
    x[0, 1, 0, 0] = float('inf')
    with pytest.raises(ValueError, match=r"'s1'.*NaN or Inf.*\['VH'\]"):
        s1(x)
    # the check can be turned off
    unchecked = _tiny(check_finite=False)
    x = torch.randn(1, 10, 32, 32)
    x[0, 0, 0, 0] = float('nan')
    assert torch.isnan(unchecked(x)[0]).any()


def test_patch_pad_corner():
    model = _tiny(patch_pad='corner').eval()
    outs = model(torch.randn(1, 10, 30, 33))
    assert [tuple(o.shape) for o in outs] == [(1, 32, 8, 9)] * 2


def test_constructor_errors():
    with pytest.raises(ValueError, match='arch'):
        SkySenseViT(arch='gigantic')
    with pytest.raises(ValueError, match='arch'):
        SkySenseViT(arch=dict(embed_dims=32, num_layers=2))
    with pytest.raises(ValueError, match='num_heads'):
        SkySenseViT(arch=dict(embed_dims=30, num_layers=2, num_heads=4))
    with pytest.raises(ValueError, match='out_indices'):
        SkySenseViT(arch=TINY, out_indices=(0, 5))
    with pytest.raises(ValueError, match='out_indices'):
        SkySenseViT(arch=TINY, out_indices=(1, -1))
    with pytest.raises(ValueError, match='in_channels'):
        SkySenseViT(arch=TINY, modality='hr')
    with pytest.raises(ValueError, match='patch_pad'):
        SkySenseViT(arch=TINY, patch_pad='reflect')
    with pytest.raises(ValueError, match='output_cls_token'):
        SkySenseViT(arch=TINY, with_cls_token=False, output_cls_token=True)
    # unknown modality with explicit bands is fine
    m = SkySenseViT(arch=TINY, modality='planet', in_channels=4)
    with pytest.raises(ValueError, match=r"'planet'.*4 bands in dim 1"):
        m(torch.randn(1, 3, 16, 16))


def test_without_cls_token_and_final_norm_match_mmseg():
    torch.manual_seed(9)
    ref = _mmseg_ref(2, with_cls_token=False, final_norm=True)
    ref.init_weights()
    ref.eval()
    model = _tiny(modality='s1', with_cls_token=False,
                  final_norm=True).eval()
    model.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 2, 32, 32)
    with torch.no_grad():
        for a, b in zip(model(x), ref(x)):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=0)


def test_full_size_large_on_meta_device(monkeypatch):
    # mmseg's VisionTransformer calls .item() on torch.linspace(...), which
    # fails under a meta default device: keep linspace on the CPU for it
    linspace = torch.linspace
    monkeypatch.setattr(
        torch, 'linspace',
        lambda *args, **kwargs: linspace(*args, **{
            **kwargs, 'device': 'cpu'
        }))
    with torch.device('meta'):
        ours = SkySenseViT(arch='large', modality='s2',
                           out_indices=(5, 11, 17, 23))
        ref = VisionTransformer(
            img_size=16, patch_size=4, in_channels=10, embed_dims=1024,
            num_layers=24, num_heads=16, mlp_ratio=4, qkv_bias=True,
            with_cls_token=True, final_norm=False, patch_bias=False)
    n_ours = sum(p.numel() for p in ours.parameters())
    n_ref = sum(p.numel() for p in ref.parameters())
    assert n_ours == n_ref == 302_491_648
    ours_sd = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    ref_sd = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert ours_sd == ref_sd
    # official manifest entries (backbone_s2.*): 3 + 24 * 12 keys
    assert len(ours_sd) == 291
    assert ours_sd['pos_embed'] == (1, 17, 1024)
    assert ours_sd['patch_embed.projection.weight'] == (1024, 10, 4, 4)
    assert ours_sd['layers.23.attn.attn.in_proj_weight'] == (3072, 1024)
    assert ours_sd['layers.23.ffn.layers.0.0.weight'] == (4096, 1024)
    # forward on meta: shapes only (finite check skipped on meta)
    outs = ours(torch.empty(2, 10, 64, 64, device='meta'))
    assert [tuple(o.shape) for o in outs] == [(2, 1024, 16, 16)] * 4
    with torch.device('meta'):
        s1 = SkySenseViT(arch='large', modality='s1')
    assert s1.patch_embed.projection.weight.shape == (1024, 2, 4, 4)
    assert MODALITY_BANDS['s1'] == ('VV', 'VH')
