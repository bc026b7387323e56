# Tiny variant of skysense_swinv2-huge_finetune_100e_resisc45-tr10-256x256.py
# for tests (https://arxiv.org/abs/2312.10115): a tiny Swin-V2 HR encoder
# (trained: full fine-tuning), 64x64 inputs, 2 iterations, CPU. Without
# ann_file it reads the whole official tree; the real sample in
# ../shared/data has 2 of the 45 class folders (1 image each), hence
# allow_missing_classes. Tests pass make_cls_split.py files via
# --cfg-options.
_base_ = ['./skysense_swinv2-huge_finetune_100e_resisc45-tr10-256x256.py']
data_root = ('../shared/data/NWPU-RESISC45/tensorflow__datasets/'
             'tensorflow_datasets/testing/test_data/fake_examples/resisc45/'
             'NWPU-RESISC45')
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=32, depths=(1, 1, 1, 1),
                  num_heads=(1, 2, 4, 8), extra_norm_every_n_blocks=0),
        img_size=64, window_size=4, drop_path_rate=0.0),
    head=dict(in_channels=256))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64)),
    dict(type='PackInputs'),
]
dataset = dict(type='skysense_mm.RESISC45Dataset', data_root=data_root,
               allow_missing_classes=True)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_delete_=True, **dataset, pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_delete_=True, **dataset, pipeline=test_pipeline))
max_iters = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1),
    dict(type='CosineAnnealingLR', T_max=1, by_epoch=False, begin=1,
         end=max_iters),
]
# no validation inside the 2 iterations: tests run tools/test.py instead
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters, val_interval=max_iters)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=max_iters, save_best=None))
log_processor = dict(by_epoch=False)
