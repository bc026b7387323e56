# OSCD (Onera) change detection with a Siamese SkySense Sentinel-2 encoder
# (https://arxiv.org/abs/2312.10115, Tab. 2c: F1 of the change class 60.06).
#
# Data: the official OSCD release, unchanged (three folders "Onera Satellite
# Change Detection dataset - Images / - Train Labels / - Test Labels" under
# data_root; 14 train / 10 test cities from train.txt / test.txt). The paper
# follows the DINO-MC / SeCo framework: train on the train cities, evaluate
# on the test cities, F1 of the change class. From the 13 bands of
# imgs_{1,2}_rect we keep the 10 bands of the SkySense S2 encoder (B2-B8, B8A,
# B11, B12), normalised with the pre-training S2 statistics.
# Settings the paper does not publish and that we chose: 96x96 random crops
# (SeCo's crop size) with flips, batch 32, AdamW 1e-4 wd 0.05, 500-iter
# warm-up then poly, 10k iterations (~14 cities: heavy resampling of crops),
# cross-entropy over 2 classes, test by non-overlapping 96x96 sliding windows
# over each whole city (mmseg shifts the last window inward instead of
# SeCo's zero padding), global pixel F1 over all test cities (SeCo logs a
# batch-averaged F1; see docs of skysense_mm.ChangeDetectionMetric).
# Fusion: |f_A - f_B| per level (SeCo/DINO-MC's SegmentationEncoder(diff=True)).

_base_ = [
    '../../../_base_/default_runtime_seg.py',
    '../../../_base_/schedules/schedule_10k_adamw_poly.py',
]

data_root = 'data/oscd'
crop_size = (96, 96)
# SkySense pre-training S2 statistics (REFERENCE.md), once per date
s2_mean = [884.30, 1144.16, 1297.47, 1624.91, 2194.64, 2422.21, 2517.76,
           2581.65, 2368.51, 1805.07]
s2_std = [1155.15, 1183.63, 1368.11, 1370.27, 1355.55, 1416.51, 1474.79,
          1439.31, 1455.52, 1343.48]

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=s2_mean * 2,
        std=s2_std * 2,
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='skysense_mm.SiameseBackbone',
        in_channels=10,
        fusion='abs_diff',
        backbone=dict(
            type='skysense_mm.SkySense',
            backbone_s2=dict(
                type='skysense_mm.SkySenseViT',
                arch='large',
                img_size=96,
                patch_size=4,
                in_channels=10,
                modality='s2',
                out_indices=(5, 11, 17, 23),
                qkv_bias=True,
                drop_path_rate=0.1,
                with_cls_token=False,
                norm_cfg=dict(type='LN', eps=1e-6),
                with_cp=False))),
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
        num_classes=2,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=crop_size))

train_pipeline = [
    dict(type='skysense_mm.LoadBiTemporalImageFromFile'),
    dict(type='skysense_mm.LoadChangeLabelFromFile'),
    dict(type='ConcatCDInput'),  # (H, W, 20): 10 bands of date 1, then date 2
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='skysense_mm.LoadBiTemporalImageFromFile'),
    dict(type='skysense_mm.LoadChangeLabelFromFile'),
    dict(type='ConcatCDInput'),
    dict(type='PackSegInputs'),
]
dataset_type = 'skysense_mm.OSCDDataset'
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='RepeatDataset',
        times=100,  # 14 cities: avoid reloading every few iterations
        dataset=dict(
            type=dataset_type, data_root=data_root, split='train',
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, split='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='skysense_mm.ChangeDetectionMetric')
test_evaluator = val_evaluator

# optimizer / schedule: configs/_base_/schedules/schedule_10k_adamw_poly.py
# --show-dir: colour-mapped change maps + an RGB (B4, B3, B2) of date 2 per
# city (mmseg's SegVisualizationHook cannot read the 2 x 10-band input)
default_hooks = dict(
    checkpoint=dict(interval=1000, save_best='F1', rule='greater'),
    visualization=dict(
        _delete_=True, type='skysense_mm.MultiBandSegVisualizationHook',
        rgb_channels=(12, 11, 10)))
env_cfg = dict(cudnn_benchmark=True)
load_from = None  # the converted SkySense checkpoint (backbone.encoder.*)
