"""skysense_mm.SiameseBackbone: one SkySense encoder shared by both dates of
a channel-stacked change-detection pair (https://arxiv.org/abs/2312.10115)."""
import pytest
import torch

import skysense_mm.models  # noqa: F401
from skysense_mm.registry import MODELS

HR = dict(
    type='skysense_mm.SkySense',
    backbone_hr=dict(
        type='skysense_mm.SkySenseSwinV2',
        arch=dict(embed_dims=16, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8)),
        img_size=32, patch_size=4, in_channels=3, window_size=2,
        drop_path_rate=0.0, out_indices=(0, 1, 2, 3)))


def build(fusion='abs_diff', backbone=HR, in_channels=3):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='skysense_mm.SiameseBackbone',
                              backbone=backbone, in_channels=in_channels,
                              fusion=fusion))
    return model.eval()


def test_abs_diff_is_shared_encoder_difference():
    model = build('abs_diff')
    a, b = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = model(torch.cat([a, b], 1))
        fa, fb = model.encoder(a), model.encoder(b)
        swapped = model(torch.cat([b, a], 1))
        same = model(torch.cat([a, a], 1))
    assert [o.shape[1] for o in out] == [16, 32, 64, 128]
    assert [o.shape[-1] for o in out] == [8, 4, 2, 1]
    for o, x, y, s, z in zip(out, fa, fb, swapped, same):
        torch.testing.assert_close(o, (x - y).abs(), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(s, o, atol=1e-5, rtol=1e-4)  # symmetric
        assert z.abs().max() == 0  # no change -> zero features


def test_concat_doubles_channels_and_keeps_order():
    model = build('concat')
    a, b = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        out = model(torch.cat([a, b], 1))
        fa, fb = model.encoder(a), model.encoder(b)
    assert [o.shape[1] for o in out] == [32, 64, 128, 256]
    for o, x, y in zip(out, fa, fb):
        torch.testing.assert_close(o, torch.cat([x, y], 1), atol=1e-5,
                                   rtol=1e-4)


def test_weights_are_shared_and_both_dates_get_gradients():
    model = build('abs_diff').train()
    n_encoder = sum(p.numel() for p in model.encoder.parameters())
    assert sum(p.numel() for p in model.parameters()) == n_encoder
    x = torch.randn(2, 6, 32, 32, requires_grad=True)
    sum(o.sum() for o in model(x)).backward()
    assert x.grad[:, :3].abs().sum() > 0 and x.grad[:, 3:].abs().sum() > 0
    assert model.encoder.backbone_hr.patch_embed.projection.weight.grad \
        is not None


def test_s2_encoder_pair():
    s2 = dict(type='skysense_mm.SkySense', backbone_s2=dict(
        type='skysense_mm.SkySenseViT',
        arch=dict(embed_dims=32, num_layers=2, num_heads=2), img_size=16,
        patch_size=4, in_channels=10, modality='s2', out_indices=(0, 1),
        with_cls_token=False, norm_cfg=dict(type='LN', eps=1e-6)))
    model = build('abs_diff', backbone=s2, in_channels=10)
    with torch.no_grad():
        out = model(torch.randn(2, 20, 16, 16))
    assert [tuple(o.shape) for o in out] == [(2, 32, 4, 4)] * 2


def test_bad_input_and_fusion():
    model = build()
    with pytest.raises(ValueError, match=r'expects \(B, 6, H, W\)'):
        model(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match='fusion must be one of'):
        build('sum')
