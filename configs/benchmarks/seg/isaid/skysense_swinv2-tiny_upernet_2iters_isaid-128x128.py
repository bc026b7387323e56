# Tiny variant of skysense_swinv2-huge_upernet_80k_isaid-896x896.py for
# tests (https://arxiv.org/abs/2312.10115): a tiny Swin-V2 HR encoder, 128
# crops, 2 iterations, CPU. It reads the official devkit layout directly
# (image + Pxxxx_instance_color_RGB.png colour label decoded through the
# devkit colour map) from the real sample in ../shared/data; the one
# labelled image serves as train and val.
_base_ = './skysense_swinv2-huge_upernet_80k_isaid-896x896.py'

data_root = '../shared/data/iSAID/CAPTAIN-WHU__iSAID_Devkit/preprocess/dataset/iSAID'
crop_size = (128, 128)
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=32, depths=(1, 1, 2, 1),
                  num_heads=(1, 2, 4, 8),
                  extra_norm_every_n_blocks=0),
        img_size=crop_size[0],
        window_size=4,
        drop_path_rate=0.0),
    decode_head=dict(in_channels=[32, 64, 128, 256], channels=32,
                     norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=128, channels=16, norm_cfg=norm_cfg),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(96, 96)))

# the dataset (label_format='color') hands the devkit colour map to the loader
load_ann = dict(type='skysense_mm.LoadCheckedSegAnnotations')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    load_ann,
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    load_ann,
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='skysense_mm.ISAIDDataset', label_format='color',
    data_root=data_root,
    data_prefix=dict(img_path='train/images', seg_map_path='train/images'))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset, pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset, pipeline=test_pipeline))

max_iters = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1,
         end=max_iters),
]
# no validation inside the 2 iterations: tests run tools/test.py instead
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=max_iters, save_best=None))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
