# Tiny variant of the OSCD benchmark for tests and smoke runs: a tiny Siamese
# SkySense S2 encoder (ViT, 64 dims, 2 layers) + UperNet, 32x32 random crops,
# 2 iterations on CPU, 32x32 sliding-window test. No real OSCD imagery is
# available here: the tests run it on a generated data_root in the official
# OSCD layout (cities given with `cities=`).
_base_ = ['./skysense_vit-large-s2_siamese-upernet_10k_oscd-96x96.py']

data_root = 'data/oscd'
crop_size = (32, 32)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        backbone=dict(
            backbone_s2=dict(
                _delete_=True,
                type='skysense_mm.SkySenseViT',
                arch=dict(embed_dims=64, num_layers=2, num_heads=2),
                img_size=32,
                patch_size=4,
                in_channels=10,
                modality='s2',
                out_indices=(0, 1),
                drop_path_rate=0.0,
                with_cls_token=False,
                norm_cfg=dict(type='LN', eps=1e-6)))),
    neck=dict(in_channels=[64, 64], out_channels=32, scales=[1, 0.5]),
    decode_head=dict(
        in_channels=[32, 32], in_index=[0, 1], channels=32,
        dropout_ratio=0.0, norm_cfg=dict(type='BN', requires_grad=True)),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=crop_size))

train_pipeline = [
    dict(type='skysense_mm.LoadBiTemporalImageFromFile'),
    dict(type='skysense_mm.LoadChangeLabelFromFile'),
    dict(type='ConcatCDInput'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(
        times=1,
        dataset=dict(data_root=data_root, pipeline=train_pipeline)))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

max_iters = 2
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_iters=max_iters, val_interval=1000)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(
        _delete_=True, type='CheckpointHook', by_epoch=False, interval=2,
        max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
