# SkySense (https://arxiv.org/abs/2312.10115) on iSAID, Tab. 2a: UperNet on
# the SkySense HR encoder (Swin-V2-H), mIoU 70.91 (paper).
# Paper settings: AdamW lr 6e-5, weight decay 0.01, poly schedule with 1500
# linear warm-up iterations, 80k iterations, 896x896 crops. Protocol
# "follows [55] RingMo" = the RSP/RVSA/mmseg iSAID protocol: train on the
# train tiles, evaluate on the val tiles, mIoU over all 16 classes including
# background, ignore 255 (padding). Decided here (not in the paper): batch
# 2 per GPU x 8 GPUs, mmseg's iSAID augmentation, auxiliary FCN head (0.4),
# layer-wise lr decay 0.9 (RVSA's setting; see optim_wrapper below).
#
# Data: python tools/dataset_converters/isaid.py <iSAID root> -o data/iSAID
# (896 tiles, overlap 384 = stride 512). Weights: convert the official
# release with tools/model_converters/skysense_official2mm.py and set
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...,
# prefix='backbone_hr.') or load_from.

_base_ = [
    '../../../_base_/default_runtime_seg.py',
    '../../../_base_/schedules/schedule_80k_adamw_poly.py',
]

data_root = 'data/iSAID'
crop_size = (896, 896)
num_classes = 16
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='skysense_mm.SkySenseSwinV2',
        arch='huge',  # embed 352, depths (2, 2, 18, 2), heads (8, 16, 32, 64)
        img_size=crop_size[0],
        patch_size=4,
        in_channels=3,
        window_size=8,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        use_abs_pos_embed=False,
        pretrained_window_sizes=(0, 0, 0, 0),
        with_cp=False),
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
    dict(type='LoadImageFromFile'),
    dict(type='skysense_mm.LoadCheckedSegAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='skysense_mm.LoadCheckedSegAnnotations'),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='skysense_mm.ISAIDDataset', label_format='index',
    data_root=data_root)
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        **dataset,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **dataset,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# optimizer / schedule: configs/_base_/schedules/schedule_80k_adamw_poly.py
# Layer-wise lr decay 0.9 over the 24 Swin-V2-H blocks (heads: full lr).
# Not stated in the paper; 0.9 is the setting of RVSA's iSAID/Potsdam
# configs (layer_decay_rate=0.9), the RingMo protocol the paper follows. The
# constructor also sets weight decay 0 for norms, biases, 1-d params, the
# cpb MLP, logit scale, position embeddings and relative position tables.
optim_wrapper = dict(
    constructor='skysense_mm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9, num_layers=None))
default_hooks = dict(
    checkpoint=dict(interval=8000, save_best='mIoU'))
env_cfg = dict(cudnn_benchmark=True)
