"""Tests of the SkySense HR encoder (models/backbones/swin_v2.py)."""
import io

import pytest
import torch
from conftest import OFFICIAL_MANIFEST
from mmpretrain.models.backbones import SwinTransformerV2

from skysense_mm.models.backbones.swin_v2 import (SDPAWindowMSAV2,
                                                  SkySenseSwinV2,
                                                  build_reference_swin_v2,
                                                  window_sdpa)
from skysense_mm.models.utils.meta_build import init_on_meta
from skysense_mm.registry import MODELS

# depth 2 per stage: every stage has a plain and a shifted block; an extra
# norm every 2 blocks exercises the huge-style ``norm3``.
TINY = dict(
    embed_dims=32,
    depths=(2, 2, 2, 2),
    num_heads=(1, 2, 4, 8),
    extra_norm_every_n_blocks=2)
# Swin-V2-H as released (REFERENCE.md); mmpretrain builds the same.
HUGE_PARAMS = 655_079_632


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Tiny tensors: one intra-op thread avoids spin-waits on busy CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny(**kwargs):
    cfg = dict(arch=TINY, window_size=4, drop_path_rate=0.)
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = SkySenseSwinV2(**cfg)
    # Random values everywhere (construction leaves biases / logit scales
    # constant), so parity checks see every parameter.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def _assert_outputs_close(a, b, atol=1e-4):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        torch.testing.assert_close(x, y, atol=atol, rtol=0)


@pytest.mark.parametrize('in_channels', [3, 4])
def test_output_shapes_every_level(in_channels):
    model = _tiny(in_channels=in_channels).eval()
    with torch.no_grad():
        outs = model(torch.randn(2, in_channels, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 16), (2, 64, 8, 8),
                                              (2, 128, 4, 4), (2, 256, 2, 2)]
    assert all(torch.isfinite(o).all() for o in outs)


def test_out_indices_subset_and_norm_names():
    model = _tiny(out_indices=(1, 3)).eval()
    names = {k.split('.')[0] for k in model.state_dict()}
    assert {'norm1', 'norm3'} <= names and not {'norm0', 'norm2'} & names
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 8, 8), (1, 256, 2, 2)]


@pytest.mark.parametrize(
    'in_channels,size,pad_small_map',
    [
        (3, 64, True),  # stage 3 is 2x2 < window 4: padded, shifted
        (4, 64, True),
        (3, 128, False),  # stage 3 map == window: shift skipped
        (3, 70, True),  # not divisible by 4 or 32: padded like mmpretrain
    ])
def test_parity_with_mmpretrain(in_channels, size, pad_small_map):
    model = _tiny(in_channels=in_channels, pad_small_map=pad_small_map)
    ref = SwinTransformerV2(**model.reference_kwargs)
    # Keys and shapes are identical.
    ours_sd, ref_sd = model.state_dict(), ref.state_dict()
    assert list(ours_sd) == list(ref_sd)
    assert all(ours_sd[k].shape == ref_sd[k].shape for k in ours_sd)
    # Ours -> library: mmpretrain's own pre-hook deletes the rebuilt buffers
    # (so its strict=True fails even on its own state dict); they are the
    # only keys it may report.
    res = ref.load_state_dict(ours_sd, strict=False)
    assert res.unexpected_keys == []
    assert all(k.rsplit('.', 1)[-1] in SkySenseSwinV2.rebuilt_buffer_names
               for k in res.missing_keys)
    # Library -> ours: strict.
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval(), ref.eval()
    x = torch.randn(2, in_channels, size, size)
    with torch.no_grad():
        ours, theirs = model(x), ref(x)
    expect = [-(-size // s) for s in (4, 8, 16, 32)]
    assert [o.shape[-1] for o in ours] == expect
    _assert_outputs_close(ours, theirs)


def test_build_reference_and_gradient_parity():
    model = _tiny().train()
    ref = build_reference_swin_v2(model)
    assert type(ref) is SwinTransformerV2 and ref.training
    x = torch.randn(2, 3, 64, 64)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    sum(o.square().mean() for o in model(xa)).backward()
    sum(o.square().mean() for o in ref(xb)).backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=1e-6, rtol=1e-3)
    for (name, p), (_, q) in zip(model.named_parameters(),
                                 ref.named_parameters()):
        torch.testing.assert_close(
            p.grad, q.grad, atol=1e-6, rtol=1e-3, msg=name)


def test_sdpa_attention_replaces_library_attention():
    model = _tiny()
    attn = [m for m in model.modules() if 'WindowMSA' in type(m).__name__]
    w_msa = [m for m in attn if isinstance(m, SDPAWindowMSAV2)]
    assert len(w_msa) == sum(TINY['depths'])
    assert all(type(m).__name__ != 'WindowMSAV2' for m in attn)


def test_state_dict_round_trip():
    model = _tiny().eval()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    other = SkySenseSwinV2(arch=TINY, window_size=4, drop_path_rate=0.)
    other.load_state_dict(sd, strict=True)
    other.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), other(x)):
            assert torch.equal(a, b)


def test_rebuilt_buffers_may_be_absent_or_stale():
    model = _tiny().eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
    names = SkySenseSwinV2.rebuilt_buffer_names
    sd = model.state_dict()
    without = {
        k: v
        for k, v in sd.items() if k.rsplit('.', 1)[-1] not in names
    }
    assert len(without) < len(sd)
    stale = {
        k: (v.clone() + 1 if k.rsplit('.', 1)[-1] in names else v)
        for k, v in sd.items()
    }
    for state in (without, stale):
        other = SkySenseSwinV2(arch=TINY, window_size=4, drop_path_rate=0.)
        other.load_state_dict(state, strict=True)
        other.eval()
        with torch.no_grad():
            _assert_outputs_close(other(x), expected, atol=0)


def test_mask_token_is_an_expected_extra():
    model = _tiny()
    sd = dict(model.state_dict(), mask_token=torch.zeros(1, 1, 32))
    other = SkySenseSwinV2(arch=TINY, window_size=4)
    res = other.load_state_dict(sd, strict=False)
    assert res.missing_keys == []
    assert res.unexpected_keys == list(SkySenseSwinV2.official_extra_keys)


def test_gradient_reaches_every_parameter():
    model = _tiny(drop_path_rate=0.1).train()
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.square().mean() for o in outs).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_with_cp_same_outputs_and_grads():
    # drop path on: checkpointing must replay the same random draws
    plain = _tiny(drop_path_rate=0.2).train()
    cp = _tiny(drop_path_rate=0.2, with_cp=True).train()
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    results = []
    for model in (plain, cp):
        torch.manual_seed(1)
        outs = model(x)
        sum(o.square().mean() for o in outs).backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        results.append((outs, grads))
    _assert_outputs_close(results[0][0], results[1][0], atol=1e-6)
    for name, grad in results[0][1].items():
        torch.testing.assert_close(
            results[1][1][name], grad, atol=1e-6, rtol=1e-5, msg=name)
    assert cp.with_cp and not any(b.with_cp for s in cp.stages
                                  for b in s.blocks)


def test_rgb_to_rgbnir_copies_red_kernel():
    rgb = _tiny().eval()
    sd = SkySenseSwinV2.rgb_to_rgbnir_state_dict(rgb.state_dict())
    w = sd['patch_embed.projection.weight']
    assert w.shape == (32, 4, 4, 4)
    assert torch.equal(w[:, 3], w[:, 0])
    assert torch.equal(w[:, :3],
                       rgb.state_dict()['patch_embed.projection.weight'])
    rgbnir = SkySenseSwinV2(
        arch=TINY, window_size=4, in_channels=4, drop_path_rate=0.)
    rgbnir.load_state_dict(sd, strict=True)
    rgbnir.eval()
    x = torch.randn(1, 4, 64, 64)
    # the stem is linear: NIR with the R kernel == RGB model on (R + NIR, G, B)
    x_rgb = torch.cat([x[:, :1] + x[:, 3:], x[:, 1:3]], dim=1)
    with torch.no_grad():
        _assert_outputs_close(rgbnir(x), rgb(x_rgb))
    # with a prefix, other keys untouched
    pre = SkySenseSwinV2.rgb_to_rgbnir_state_dict(
        {'backbone_hr.' + k: v for k, v in rgb.state_dict().items()},
        prefix='backbone_hr.')
    assert pre['backbone_hr.patch_embed.projection.weight'].shape[1] == 4
    with pytest.raises(ValueError, match='patch_embed.projection.weight'):
        SkySenseSwinV2.rgb_to_rgbnir_weight(w)


def test_wrong_band_count_names_in_channels():
    model = _tiny(in_channels=4)
    with pytest.raises(ValueError, match=r'3 bands.*in_channels=4'):
        model(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match='in_channels'):
        SkySenseSwinV2(arch=TINY, window_size=4, in_channels=5)
    with pytest.raises(ValueError, match='4-D'):
        model(torch.randn(4, 64, 64))
    with pytest.raises(TypeError, match='Tensor'):
        model([[0.]])


def test_small_input_without_padding_is_a_clear_error():
    model = _tiny(pad_small_map=False)
    with pytest.raises(ValueError, match='pad_small_map'):
        model(torch.randn(1, 3, 64, 64))  # stage 3 is 2x2 < window 4


def test_bad_arch_is_a_clear_error():
    with pytest.raises(ValueError, match='arch'):
        SkySenseSwinV2(arch='enormous')
    with pytest.raises(ValueError, match='num_heads'):
        SkySenseSwinV2(arch=dict(embed_dims=32, depths=(1, 1)))
    with pytest.raises(ValueError, match='out_indices'):
        SkySenseSwinV2(arch=TINY, out_indices=(4, ))


def test_shift_mask_cache_and_inference_mode():
    model = _tiny().eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        first = model(x)
    model.train()
    outs = model(x)  # cached masks made under inference_mode are not reused
    sum(o.sum() for o in outs).backward()
    model.eval()
    with torch.no_grad():
        _assert_outputs_close(model(x), first, atol=1e-6)


def test_window_sdpa_head_dim_padding_is_exact():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 16, 44) for _ in range(3))
    bias = torch.randn(1, 3, 16, 16)
    plain = window_sdpa(q, k, v, bias, pad_head_dim=False)
    padded = window_sdpa(q.half(), k.half(), v.half(), bias.half(),
                         pad_head_dim=True)
    assert padded.shape == plain.shape
    torch.testing.assert_close(padded.float(), plain, atol=1e-2, rtol=1e-2)
    ref = torch.softmax(q @ k.transpose(-2, -1) + bias, -1) @ v
    torch.testing.assert_close(plain, ref, atol=1e-5, rtol=1e-5)


def test_bf16_autocast_runs():
    model = _tiny().eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        fp32 = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            bf16 = model(x)
    for a, b in zip(bf16, fp32):
        assert a.dtype == torch.bfloat16
        assert (a.float() - b).abs().max() <= 0.1 * b.abs().max()


def test_registered():
    model = MODELS.build(
        dict(type='SkySenseSwinV2', arch=TINY, window_size=4))
    assert isinstance(model, SkySenseSwinV2)


def test_huge_on_meta_matches_mmpretrain_and_release():
    with init_on_meta():
        model = SkySenseSwinV2(arch='huge')
        ref = SwinTransformerV2(arch='huge', out_indices=(0, 1, 2, 3))
    assert all(p.is_meta for p in model.parameters())
    count = sum(p.numel() for p in model.parameters())
    assert count == sum(p.numel() for p in ref.parameters()) == HUGE_PARAMS
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert ours == {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert model.window_sizes == [8] * 4 and model.embed_dims == 352
    # official backbone_gep.* keys minus the prefix: ours plus mask_token
    official = {}
    with open(OFFICIAL_MANIFEST) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            _, key, shape = line.rstrip('\n').split('\t')
            if key.startswith('backbone_gep.'):
                official[key[len('backbone_gep.'):]] = tuple(
                    int(s) for s in shape.split('x'))
    names = SkySenseSwinV2.rebuilt_buffer_names
    ours = {k: v for k, v in ours.items() if k.rsplit('.', 1)[-1] not in names}
    assert set(official) - set(ours) == set(SkySenseSwinV2.official_extra_keys)
    assert {k: official[k] for k in ours} == ours
    # the mirrored library module also builds on meta
    meta_ref = build_reference_swin_v2(model)
    assert next(meta_ref.parameters()).is_meta
