# Tiny variant of skysense_swinv2-huge_faster-rcnn_fpn_12e_dior-800x800.py
# for tests (https://arxiv.org/abs/2312.10115): a tiny Swin-V2 HR encoder,
# 128x128 input, 2 iterations, CPU. It reads the real DIOR sample in
# ../shared/data/DIOR: image 00001 from MMRotate's test fixture (folder
# "JPEGImage", singular) and its official horizontal-box XML from rsclip's
# copy (annotations/horizontal); the one image serves as train and test set.
_base_ = './skysense_swinv2-huge_faster-rcnn_fpn_12e_dior-800x800.py'

data_root = '../shared/data/DIOR'
img_scale = (128, 128)

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=32, depths=(1, 1, 1, 1),
                  num_heads=(1, 2, 4, 8), extra_norm_every_n_blocks=0),
        img_size=img_scale[0],
        window_size=4,
        drop_path_rate=0.0),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=64)),
    # fewer proposals / detections: keeps the CPU test step short
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100),
                  rcnn=dict(max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
dataset = dict(
    type='skysense_mm.DIORDataset',
    data_root=data_root,
    ann_file='open-mmlab__mmrotate@1.x/tests/data/dior/demo.txt',
    data_prefix=dict(
        img_path='open-mmlab__mmrotate@1.x/tests/data/dior/JPEGImage',
        ann_path='zhuyuerong__rsclip/datasets/DIOR/annotations/horizontal'))
train_dataloader = dict(
    _delete_=True, batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**dataset, filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline))
test_dataloader = dict(
    _delete_=True, batch_size=1, num_workers=0, persistent_workers=False,
    drop_last=False, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, test_mode=True, pipeline=test_pipeline))

max_iters = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1),
]
# no validation inside the 2 iterations: tests run tools/test.py instead
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters, val_interval=max_iters)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
