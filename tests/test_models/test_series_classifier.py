"""SkySense (https://arxiv.org/abs/2312.10115) scene-classification glue:
``SkySenseClassifier`` (mmpretrain ImageClassifier with a frozen-backbone
linear-probe mode) and ``SeriesClsDataPreprocessor`` (S2 time series with
day of year and date mask -> the SkySense dict input): exact shapes, the
normalisation, frozen vs fine-tuned gradients, padded dates changing
nothing, and the single-date multi-label (BigEarthNet) case."""
import os.path as osp

import numpy as np
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import skysense_mm  # noqa: F401
from conftest import ROOT

MEAN = [float(i) for i in range(10)]
STD = [float(i + 1) for i in range(10)]
VIT = dict(type='skysense_mm.SkySenseViT', arch=dict(embed_dims=32,
                                                      num_layers=1,
                                                      num_heads=2),
           modality='s2', in_channels=10, img_size=8, patch_size=4,
           out_indices=(0, ), with_cls_token=False)


def _temporal(freeze):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='skysense_mm.SkySenseClassifier',
        freeze_backbone=freeze,
        data_preprocessor=dict(type='skysense_mm.SeriesClsDataPreprocessor',
                               mean=MEAN, std=STD),
        backbone=dict(
            type='skysense_mm.SkySense', backbone_s2=VIT,
            fusion_neck=dict(type='skysense_mm.SkySenseFusionNeck',
                             in_channels=64, in_channels_s2=32,
                             in_channels_s1=None, embed_dims=32,
                             num_layers=1, num_heads=2, mlp_ratio=2)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=62, in_channels=32,
                  topk=(1, 5))))


def _batch(masks=((True, True, True), (True, True, False))):
    g = torch.Generator().manual_seed(1)
    inputs, samples = [], []
    for i, mask in enumerate(masks):
        inputs.append(torch.rand((len(mask), 10, 8, 8), generator=g) * 1e3)
        s = DataSample().set_gt_label(i * 7)
        s.set_metainfo(dict(doy=np.array([10, 100, 200][:len(mask)]),
                            date_mask=np.array(mask)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_preprocessor_shapes_and_normalisation():
    model = _temporal(True)
    batch = _batch()
    out = model.data_preprocessor(batch)
    x = out['inputs']
    assert sorted(x) == ['s2', 's2_doy', 's2_mask']
    assert x['s2'].shape == (2, 3, 10, 8, 8)
    assert x['s2_doy'].dtype == torch.long and x['s2_doy'].tolist() == [
        [10, 100, 200], [10, 100, 200]]
    assert x['s2_mask'].dtype == torch.bool
    assert x['s2_mask'].tolist() == [[True] * 3, [True, True, False]]
    raw = batch['inputs'][1][2, 4]  # sample 1, date 2, band 4
    torch.testing.assert_close(x['s2'][1, 2, 4], (raw - 4.0) / 5.0)


def test_temporal_classifier_shapes_and_frozen_backbone():
    model = _temporal(True)
    model.train()
    assert not model.backbone.training and model.head.training
    assert not any(p.requires_grad for p in model.backbone.parameters())
    data = model.data_preprocessor(_batch(), True)
    fused = model.extract_feat(data['inputs'], stage='backbone')
    assert len(fused) == 1 and fused[0].shape == (2, 32, 8, 8)
    assert model.extract_feat(data['inputs'])[0].shape == (2, 32)
    losses = model(**data, mode='loss')
    losses['loss'].backward()
    assert model.head.fc.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbone.parameters())
    preds = model(**data, mode='predict')
    assert preds[0].pred_score.shape == (62, )
    torch.testing.assert_close(preds[0].pred_score.sum(), torch.tensor(1.0))


def test_finetune_mode_trains_the_backbone():
    model = _temporal(False)
    model.train()
    assert model.backbone.training
    data = model.data_preprocessor(_batch(), True)
    model(**data, mode='loss')['loss'].backward()
    for mod in (model.backbone.backbone_s2, model.backbone.fusion_neck):
        # the ViT's class token is unused (with_cls_token=False)
        grads = {n: p.grad for n, p in mod.named_parameters()
                 if n != 'cls_token'}
        assert grads and all(g is not None for g in grads.values())


def test_padded_dates_change_nothing():
    model = _temporal(True).eval()
    padded = model.data_preprocessor(_batch(((True, True, False), )))
    short = dict(padded['inputs'])
    short = {k: v[:, :2] for k, v in short.items()}
    with torch.no_grad():
        a = model.extract_feat(padded['inputs'], stage='pre_logits')
        b = model.extract_feat(short, stage='pre_logits')
    assert a.shape == (1, 32)
    torch.testing.assert_close(a, b)


def test_single_date_multilabel_classifier():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='skysense_mm.SkySenseClassifier', freeze_backbone=True,
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=MEAN,
                               std=STD, to_rgb=False),
        backbone=dict(VIT, img_size=16),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='MultiLabelLinearClsHead', num_classes=19,
                  in_channels=32)))
    inputs = [torch.rand(10, 16, 16) for _ in range(2)]
    samples = [DataSample().set_gt_label([2, 6]),
               DataSample().set_gt_label([9, 10, 13])]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples),
                                   True)
    assert data['inputs'].shape == (2, 10, 16, 16)
    assert model.extract_feat(data['inputs'],
                              stage='backbone')[0].shape == (2, 32, 4, 4)
    loss = model(**data, mode='loss')['loss']
    assert loss.ndim == 0 and torch.isfinite(loss)
    preds = model(**data, mode='predict')
    score = preds[0].pred_score
    assert score.shape == (19, ) and bool(((score > 0) & (score < 1)).all())


def test_full_fmow_model_builds_on_meta():
    """The paper-size fMoW-S2 model (ViT-L + 24-layer fusion), shapes only."""
    from skysense_mm.models.utils import build_model_on_meta
    model = build_model_on_meta(osp.join(
        ROOT, 'configs', 'benchmarks', 'cls', 'fmow',
        'skysense_vit-large-fusion_linear_fmow-s2-t3-96x96.py'))
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert model.head.fc.weight.shape == (62, 1024)
    assert model.backbone.fusion_neck.lift_s2.decoder[0].weight.shape == (
        16 * 2816, 1024, 1, 1)
    assert model.backbone.backbone_s2.pos_embed.shape == (1, 24 * 24 + 1,
                                                          1024)
