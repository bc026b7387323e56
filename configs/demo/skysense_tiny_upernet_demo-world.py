# Downstream demo of SkySense pre-training (https://arxiv.org/abs/2312.10115):
# the tiny SkySense HR encoder (the one pre-trained by
# configs/pretrain/skysense_tiny_pretrain_demo.py), frozen, + an mmseg
# UPerHead trained on the land-cover labels of the demo world
# (tools/misc/make_demo_data.py). tools/demo/run_pretrain_demo.py trains it
# twice, on the pre-training teacher's encoder and on a random-init one, and
# prints both mIoUs.
#
# Random init (default):
#   python tools/train.py configs/demo/skysense_tiny_upernet_demo-world.py
# From a pre-training checkpoint (the TEACHER's encoder, as in the paper):
#   CKPT=work_dirs/skysense_tiny_pretrain_demo/iter_150.pth
#   python tools/train.py configs/demo/skysense_tiny_upernet_demo-world.py \
#     --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=$CKPT \
#       model.backbone.init_cfg.prefix=teacher.backbone.
# (`teacher.backbone.` strips the pre-training model's prefix, so the keys
# are the downstream SkySense's `backbone_hr.*`; the checkpoint's S2/S1/
# fusion keys are unexpected here and ignored.)
_base_ = ['../_base_/default_runtime_seg.py']

data_root = 'data/demo_mm'
classes = ('cropland', 'forest', 'water', 'built-up', 'bare')
palette = [[230, 200, 60], [20, 110, 40], [30, 110, 220], [200, 40, 40],
           [190, 160, 110]]
crop_size = (128, 128)  # = the demo world's HR size
max_iters = 160

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        # the HR mean/std of SkySensePretrainDataPreprocessor (RGB, 0..255)
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        # HR-only SkySense: a plain image tensor goes to `backbone_hr`; the
        # state-dict keys (`backbone_hr.*`) match the pre-trained encoder's.
        # No init_cfg here (random init); the key is left out, not None, so
        # that `--cfg-options model.backbone.init_cfg.type=Pretrained ...`
        # can add it.
        type='skysense_mm.SkySense',
        # the HR encoder of ../_base_/models/skysense_tiny.py, frozen
        # (frozen_stages=3: patch embed, all 4 stages and their norms, eval
        # mode): only the UPerHead trains, so the score measures the
        # encoder's features. Fine-tune everything with
        # `--cfg-options model.backbone.backbone_hr.frozen_stages=-1`.
        backbone_hr=dict(
            type='skysense_mm.SkySenseSwinV2',
            arch=dict(
                embed_dims=32, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8)),
            img_size=128,
            patch_size=4,
            in_channels=3,
            window_size=4,
            drop_path_rate=0.1,
            out_indices=(0, 1, 2, 3),
            frozen_stages=3)),
    decode_head=dict(
        type='UPerHead',
        in_channels=[32, 64, 128, 256],  # the 4 Swin-V2 levels, 32 * 2^i
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=32,
        dropout_ratio=0.1,
        num_classes=len(classes),
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    # pillow: cv2 decodes the GeoTIFF too but warns about its GeoTIFF tags
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='LoadAnnotations', imdecode_backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='LoadAnnotations', imdecode_backend='pillow'),
    dict(type='PackSegInputs'),
]
# one folder per sample: <data_root>/<id>/hr.tif and <id>/label.png
dataset = dict(
    type='BaseSegDataset',
    metainfo=dict(classes=classes, palette=palette),
    data_root=data_root,
    data_prefix=dict(img_path='', seg_map_path=''),
    img_suffix='/hr.tif',
    seg_map_suffix='/label.png',
    reduce_zero_label=False)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        **dataset, ann_file='splits/train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, ann_file='splits/val.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(
        type='PolyLR',
        power=1.0,
        begin=10,
        end=max_iters,
        eta_min=0.0,
        by_epoch=False),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, deterministic=False)
