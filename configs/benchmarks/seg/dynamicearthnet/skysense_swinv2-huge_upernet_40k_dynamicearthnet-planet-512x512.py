# DynamicEarthNet, PlanetFusion input (Dyna.-Pla), UperNet on the SkySense
# HR encoder (https://arxiv.org/abs/2312.10115, Tab. 2c: mIoU 39.7 val /
# 46.5 test; the paper gives no training settings for this benchmark).
#
# Data: the official release layout under data_root (planet/, labels/,
# dynnet_training_splits/{train,val,test}.txt; see
# skysense_mm.DynamicEarthNetDataset), one sample per (cube, label month).
# Input: the PlanetFusion frame of the label date (day 01 of the month),
# bands reordered B,G,R,NIR -> R,G,B,NIR as the official loader does, fed to
# a 4-band Swin-V2-H: a per-frame model (the official `single` sampling; the
# dataset also offers `frames='weekly'`, days 01/05/10/15/20/25, usable with
# LoadDynamicEarthNetImage(temporal_reduce='median') or a temporal model).
# Labels: 7-band one-hot -> classes 0-5, snow & ice and empty pixels ignored
# (255), as the official loader (NUM_CLASSES 6, IGNORE_INDEX -1).
# Protocol: random 512x512 crops for training, the full 1024x1024 tile at
# val/test (whole inference); scores by skysense_mm.DynamicEarthNetMetric =
# the official CodaLab evaluator (global mIoU, BC, SC, SCS, x100, 1 decimal).
# `tools/test.py CONFIG CKPT --out sub.zip` writes the CodaLab submission.
# Our choices (not published): AdamW 6e-5, wd 0.01, 1500-iter linear
# warm-up + poly, 40k iterations, batch 2 per GPU, flips, normalisation with
# the official Planet statistics (R,G,B,NIR).

_base_ = [
    '../../../_base_/default_runtime_seg.py',
    '../../../_base_/schedules/schedule_40k_adamw_poly.py',
]

data_root = 'data/dynamicearthnet'
crop_size = (512, 512)
num_classes = 6
norm_cfg = dict(type='SyncBN', requires_grad=True)
# official DynamicEarthNet Planet statistics, R, G, B, NIR
planet_mean = [1042.6, 915.6, 671.3, 2605.2]
planet_std = [958.0, 715.5, 596.9, 1059.9]

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=planet_mean,
        std=planet_std,
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='skysense_mm.SkySense',
        backbone_hr=dict(
            type='skysense_mm.SkySenseSwinV2',
            arch='huge',  # embed 352, depths (2, 2, 18, 2)
            img_size=crop_size[0],
            patch_size=4,
            in_channels=4,  # R, G, B, NIR
            window_size=8,
            drop_path_rate=0.2,
            out_indices=(0, 1, 2, 3),
            use_abs_pos_embed=False,
            pretrained_window_sizes=(0, 0, 0, 0),
            with_cp=False)),
    decode_head=dict(
        type='UPerHead',
        in_channels=[352, 704, 1408, 2816],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1408,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='skysense_mm.LoadDynamicEarthNetImage'),
    dict(type='skysense_mm.LoadDynamicEarthNetAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='skysense_mm.LoadDynamicEarthNetImage'),
    dict(type='skysense_mm.LoadDynamicEarthNetAnnotations'),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='skysense_mm.DynamicEarthNetDataset', data_root=data_root,
    modality='planet', frames='single')
train_dataloader = dict(
    batch_size=2,
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
# benchmark) with AdamW lr 6e-5, wd 0.01 and layer-wise lr decay 0.9 (as the
# iSAID / Potsdam configs; weight decay 0 for norms, biases, position
# embeddings and Swin-V2 position-bias parameters).
optim_wrapper = dict(
    optimizer=dict(lr=6e-5, weight_decay=0.01),
    constructor='skysense_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9, num_layers=None))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000,
                    max_keep_ckpts=2, save_best='mIoU', rule='greater'),
    # --show-dir: colour-mapped predictions + an RGB of the input per frame
    # (mmseg's SegVisualizationHook re-reads img_path with cv2, which cannot
    # decode these GeoTIFFs)
    visualization=dict(
        _delete_=True, type='skysense_mm.MultiBandSegVisualizationHook',
        rgb_channels=(0, 1, 2)))
load_from = None  # the converted SkySense checkpoint (backbone.backbone_hr.*)
