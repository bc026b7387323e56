# DynamicEarthNet, Sentinel-2 input (Dyna.-S2), UperNet on the SkySense S2
# encoder (https://arxiv.org/abs/2312.10115, Tab. 2c: mIoU 33.1 val / 46.2
# test, and semantic change segmentation SCS 15.4 val / 18.0 test; the paper
# gives no training settings for this benchmark).
#
# Data: the official release layout under data_root (sentinel2/, labels/,
# dynnet_training_splits/); one sample per (cube, label month) = the S2
# monthly composite of that month (a series of one date for the S2 encoder).
# Bands: of the 12 stored bands ([UNCONFIRMED] order B01-B08, B8A, B10, B11,
# B12) we keep the 10 of the SkySense S2 encoder, B2-B8, B8A, B11, B12 (as
# for OSCD), normalised with the SkySense pre-training S2 statistics.
# Grid: the loader resamples the composite (bilinear) to the label grid
# (1024x1024 at ~3 m) so that ori_shape is the evaluation grid; the pipeline
# then resizes it by 1/4 (256x256, ~12 m, close to the native 10 m S2 pixel)
# for the ViT with patch 4. Training crops 128x128 on that grid = 512x512
# label pixels (the protocol's 512 crops); val/test run on the full tile and
# mmseg resizes the logits back to the 1024x1024 label grid, where the
# official scores (mIoU, BC, SC, SCS; skysense_mm.DynamicEarthNetMetric) are
# computed on per-month predictions of every cube.
# Our choices (not published): AdamW 1e-4, wd 0.05, 1500-iter warm-up +
# poly, 40k iterations, batch 8, flips.

_base_ = [
    '../../../_base_/default_runtime_seg.py',
    '../../../_base_/schedules/schedule_40k_adamw_poly.py',
]

data_root = 'data/dynamicearthnet'
crop_size = (128, 128)  # on the 1/4 label grid = 512x512 label pixels
num_classes = 6
norm_cfg = dict(type='SyncBN', requires_grad=True)
# SkySense pre-training S2 statistics (REFERENCE.md)
s2_mean = [884.30, 1144.16, 1297.47, 1624.91, 2194.64, 2422.21, 2517.76,
           2581.65, 2368.51, 1805.07]
s2_std = [1155.15, 1183.63, 1368.11, 1370.27, 1355.55, 1416.51, 1474.79,
          1439.31, 1455.52, 1343.48]

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=s2_mean,
        std=s2_std,
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='skysense_mm.SkySense',
        backbone_s2=dict(
            type='skysense_mm.SkySenseViT',
            arch='large',
            img_size=crop_size[0],
            patch_size=4,
            in_channels=10,
            modality='s2',
            out_indices=(5, 11, 17, 23),
            qkv_bias=True,
            drop_path_rate=0.1,
            with_cls_token=False,
            norm_cfg=dict(type='LN', eps=1e-6),
            with_cp=False)),
    # ViT levels are all at stride 4: make a stride 4/8/16/32 pyramid
    neck=dict(
        type='MultiLevelNeck',
        in_channels=[1024, 1024, 1024, 1024],
        out_channels=256,
        scales=[1, 0.5, 0.25, 0.125]),
    decode_head=dict(
        type='UPerHead',
        in_channels=[256, 256, 256, 256],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=256,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='skysense_mm.LoadDynamicEarthNetImage', resize_to_label=True),
    dict(type='skysense_mm.LoadDynamicEarthNetAnnotations'),
    dict(type='Resize', scale_factor=0.25, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='skysense_mm.LoadDynamicEarthNetImage', resize_to_label=True),
    dict(type='Resize', scale_factor=0.25, keep_ratio=True),
    # after Resize: the label stays on the 1024x1024 evaluation grid
    dict(type='skysense_mm.LoadDynamicEarthNetAnnotations'),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='skysense_mm.DynamicEarthNetDataset', data_root=data_root,
    modality='s2')
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, split='val', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='skysense_mm.DynamicEarthNetMetric')
test_evaluator = val_evaluator

# optimizer / schedule: configs/_base_/schedules/schedule_40k_adamw_poly.py
# (1500 warm-up iterations, poly, 40k iterations; not published for this
# benchmark) with AdamW lr 1e-4, wd 0.05 and layer-wise lr decay 0.9 (as the
# iSAID / Potsdam configs; weight decay 0 for norms, biases, position
# embeddings and Swin-V2 position-bias parameters).
optim_wrapper = dict(
    optimizer=dict(lr=1e-4, weight_decay=0.05),
    constructor='skysense_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9, num_layers=None))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000,
                    max_keep_ckpts=2, save_best='SCS', rule='greater'),
    # --show-dir: colour-mapped predictions + an RGB of the input per frame
    # (mmseg's SegVisualizationHook re-reads img_path with cv2, which cannot
    # decode these GeoTIFFs)
    visualization=dict(
        _delete_=True, type='skysense_mm.MultiBandSegVisualizationHook',
        rgb_channels=(2, 1, 0)))
load_from = None  # the converted SkySense checkpoint (backbone.backbone_s2.*)
