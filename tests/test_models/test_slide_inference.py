"""Sliding-window vs whole-image inference of an mmseg EncoderDecoder with a
tiny SkySense HR encoder (skysense_mm.SkySenseSwinV2) and a UperNet head
(https://arxiv.org/abs/2312.10115; the iSAID / Potsdam / OSCD configs test
with mode='slide').

What holds exactly, and what does not:

* one window covering the image (crop_size == image size, any stride):
  slide runs the same forward pass on the same tensor and divides by a
  count of 1, so its logits equal whole-image logits (to float rounding;
  asserted to 1e-6).
* overlapping windows (crop 32, stride 16 on 64x64): the logits are NOT
  equal to whole-image logits, and no model of this kind can make them so:
  each window sees only its own context (Swin attention windows, shifted
  window masks and patch merging restart at the crop border; UperNet's
  pyramid pooling, incl. the global 1x1 pooling, pools over the crop only;
  zero padding of the convolutions sits at the crop border). What slide
  inference does compute exactly is the per-pixel mean of the whole-image
  logits of every window covering the pixel (mmseg shifts the last window
  inward so the windows tile the image); that is asserted, together with a
  non-negligible difference from whole-image inference.
"""
import pytest
import torch
from mmengine.registry import init_default_scope

import skysense_mm.models  # noqa: F401

SIZE = 64


def build_model(test_cfg):
    from mmengine.config import ConfigDict
    test_cfg = ConfigDict(test_cfg)
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='EncoderDecoder',
        backbone=dict(
            type='skysense_mm.SkySenseSwinV2',
            arch=dict(embed_dims=32, depths=(1, 1, 2, 1),
                      num_heads=(1, 2, 4, 8), extra_norm_every_n_blocks=0),
            img_size=SIZE, patch_size=4, in_channels=3, window_size=4,
            drop_path_rate=0.0, out_indices=(0, 1, 2, 3),
            use_abs_pos_embed=False, pretrained_window_sizes=(0, 0, 0, 0)),
        decode_head=dict(
            type='UPerHead', in_channels=[32, 64, 128, 256],
            in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6), channels=32,
            dropout_ratio=0.1, num_classes=5,
            norm_cfg=dict(type='BN', requires_grad=True),
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        test_cfg=test_cfg))
    # non-trivial BN statistics so that eval-mode BN is not the identity
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def metas(n):
    return [dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                 pad_shape=(SIZE, SIZE)) for _ in range(n)]


@pytest.fixture(scope='module')
def inputs():
    torch.manual_seed(1)
    return torch.randn(2, 3, SIZE, SIZE)


def infer(model, x):
    with torch.no_grad():
        return model.inference(x, metas(len(x)))


@pytest.mark.parametrize('stride', [(SIZE, SIZE), (16, 16)])
def test_single_window_slide_equals_whole(inputs, stride):
    whole = infer(build_model(dict(mode='whole')), inputs)
    slide = infer(build_model(dict(mode='slide', crop_size=(SIZE, SIZE),
                                   stride=stride)), inputs)
    assert whole.shape == slide.shape == (2, 5, SIZE, SIZE)
    assert whole.abs().max() > 0.1  # not a degenerate all-zero output
    torch.testing.assert_close(slide, whole, rtol=0, atol=1e-6)
    # same prediction through the full predict path (data samples)
    model = build_model(dict(mode='slide', crop_size=(SIZE, SIZE),
                             stride=stride))
    from mmseg.structures import SegDataSample
    samples = []
    for meta in metas(2):
        s = SegDataSample()
        s.set_metainfo(meta)
        samples.append(s)
    with torch.no_grad():
        out = model.predict(inputs, samples)
    for i, s in enumerate(out):
        assert torch.equal(s.pred_sem_seg.data[0], whole[i].argmax(0))


def test_overlapping_windows_average_crops_not_whole(inputs):
    crop, stride = 32, 16
    slide = infer(build_model(dict(mode='slide', crop_size=(crop, crop),
                                   stride=(stride, stride))), inputs)
    whole_model = build_model(dict(mode='whole'))
    whole = infer(whole_model, inputs)
    # per-pixel mean of the whole-image inference of every 32x32 window
    acc = torch.zeros_like(whole)
    count = torch.zeros(1, 1, SIZE, SIZE)
    for y in range(0, SIZE - crop + 1, stride):
        for x in range(0, SIZE - crop + 1, stride):
            window = inputs[:, :, y:y + crop, x:x + crop]
            with torch.no_grad():
                acc[:, :, y:y + crop, x:x + crop] += whole_model.inference(
                    window,
                    [dict(img_shape=(crop, crop), ori_shape=(crop, crop))] * 2)
            count[:, :, y:y + crop, x:x + crop] += 1
    assert count.min() == 1 and count.max() == 4  # 3 x 3 windows
    torch.testing.assert_close(slide, acc / count, rtol=0, atol=1e-6)
    # ... which is not whole-image inference: crops lose context
    assert (slide - whole).abs().max() > 1e-2
