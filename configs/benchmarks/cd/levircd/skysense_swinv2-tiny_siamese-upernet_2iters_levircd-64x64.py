# Tiny variant of the LEVIR-CD benchmark for tests and smoke runs: a tiny
# Siamese SkySense HR encoder (Swin-V2, 32 dims) + UperNet, 64x64 random crops,
# 2 iterations on CPU, whole-tile test. data_root is any folder with
# A/, B/, label/ (e.g. the 1024x1024 tiles of one LEVIR-CD split, or the real
# sample ../shared/data/LEVIR-CD/KyanChen__TTP/samples used by the tests).
_base_ = ['./skysense_swinv2-huge_siamese-upernet_40k_levircd-256x256.py']

data_root = 'data/levir-cd/test'
crop_size = (64, 64)

model = dict(
    data_preprocessor=dict(size=None, size_divisor=32),
    backbone=dict(
        fusion='abs_diff',
        backbone=dict(
            backbone_hr=dict(
                _delete_=True,
                type='skysense_mm.SkySenseSwinV2',
                arch=dict(embed_dims=32, depths=(1, 1, 1, 1),
                          num_heads=(1, 2, 4, 8)),
                img_size=64,
                patch_size=4,
                in_channels=3,
                window_size=4,
                drop_path_rate=0.0,
                out_indices=(0, 1, 2, 3)))),
    decode_head=dict(
        in_channels=[32, 64, 128, 256], channels=32, dropout_ratio=0.0,
        norm_cfg=dict(type='BN', requires_grad=True)),
    auxiliary_head=dict(
        in_channels=128, channels=16, dropout_ratio=0.0,
        norm_cfg=dict(type='BN', requires_grad=True)))

train_pipeline = [
    dict(type='skysense_mm.LoadBiTemporalImageFromFile'),
    dict(type='skysense_mm.LoadChangeLabelFromFile'),
    dict(type='ConcatCDInput'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
cd_prefix = dict(img_path='A', img_path2='B', seg_map_path='label')
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix=cd_prefix,
                 pipeline=train_pipeline))
# the end-of-training validation looks at the first tile only
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix=cd_prefix, indices=1))
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix=cd_prefix))

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
