# LEVIR-CD change detection with a Siamese SkySense HR encoder
# (https://arxiv.org/abs/2312.10115, Tab. 2c: F1 of the change class 92.58).
#
# Data: the official LEVIR-CD release (train 445 / val 64 / test 128 tiles of
# 1024x1024, labels 0/255) cropped by
#   python tools/dataset_converters/levircd.py data/LEVIR-CD data/levir-cd-256
# into non-overlapping 256x256 crops (16 per tile; 7120 / 1024 / 2048), the
# STANet / BIT-CD protocol the paper follows ("the framework of RingMo").
# Settings the paper does not publish and that we chose: AdamW 6e-5, wd 0.01,
# 1500-iter linear warm-up then poly (the paper's iSAID recipe), 40k iterations
# at batch 16 (8 GPUs x 2, ~90 epochs), flips as the only augmentation,
# best checkpoint by val F1, test on the test split.
# Fusion: |f_A - f_B| per level (SiameseBackbone fusion='abs_diff'); the
# framework the paper follows for OSCD (SeCo / DINO-MC) fuses that way and
# it keeps the UperNet in_channels of the segmentation configs.

_base_ = [
    '../../../_base_/default_runtime_seg.py',
    '../../../_base_/schedules/schedule_40k_adamw_poly.py',
]

data_root = 'data/levir-cd-256'
crop_size = (256, 256)
# ImageNet RGB statistics, once per date (A then B; images loaded as RGB)
mean = [123.675, 116.28, 103.53] * 2
std = [58.395, 57.12, 57.375] * 2

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=mean,
        std=std,
        bgr_to_rgb=False,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='skysense_mm.SiameseBackbone',
        in_channels=3,
        fusion='abs_diff',
        backbone=dict(
            type='skysense_mm.SkySense',
            backbone_hr=dict(
                type='skysense_mm.SkySenseSwinV2',
                arch='huge',  # embed 352, depths (2, 2, 18, 2)
                img_size=256,
                patch_size=4,
                in_channels=3,
                window_size=8,
                drop_path_rate=0.2,
                out_indices=(0, 1, 2, 3),
                use_abs_pos_embed=False,
                pretrained_window_sizes=(0, 0, 0, 0),
                with_cp=True))),
    decode_head=dict(
        type='UPerHead',
        in_channels=[352, 704, 1408, 2816],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
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
        num_classes=2,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='skysense_mm.LoadBiTemporalImageFromFile'),
    dict(type='skysense_mm.LoadChangeLabelFromFile'),
    dict(type='ConcatCDInput'),  # (H, W, 6): A then B
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
dataset_type = 'skysense_mm.LEVIRCDDataset'
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='train/A', img_path2='train/B',
            seg_map_path='train/label'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='val/A', img_path2='val/B', seg_map_path='val/label'),
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='test/A', img_path2='test/B', seg_map_path='test/label'),
        pipeline=test_pipeline))
val_evaluator = dict(type='skysense_mm.ChangeDetectionMetric')
test_evaluator = val_evaluator

# optimizer / schedule: configs/_base_/schedules/schedule_40k_adamw_poly.py
optim_wrapper = dict(clip_grad=None)
# --show-dir: colour-mapped change maps + the date-B image per tile
default_hooks = dict(
    checkpoint=dict(save_best='F1', rule='greater'),
    visualization=dict(
        _delete_=True, type='skysense_mm.MultiBandSegVisualizationHook',
        rgb_channels=(3, 4, 5)))
env_cfg = dict(cudnn_benchmark=True)
load_from = None  # the converted SkySense checkpoint (backbone.encoder.*)
