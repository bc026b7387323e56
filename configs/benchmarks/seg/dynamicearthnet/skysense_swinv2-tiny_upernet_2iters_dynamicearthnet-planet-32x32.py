# Tiny variant of skysense_swinv2-huge_upernet_40k_dynamicearthnet-planet-
# 512x512.py for tests (https://arxiv.org/abs/2312.10115): tiny 4-band
# Swin-V2 HR encoder, 32x32 crops, 2 iterations on CPU, whole-tile test.
# No real DynamicEarthNet data is available: the tests run it on a tree in
# the official layout written by tests/_dynamicearthnet_layout.py (64x64
# tiles), with data_root given by --cfg-options.
_base_ = './skysense_swinv2-huge_upernet_40k_dynamicearthnet-planet-512x512.py'

data_root = 'data/dynamicearthnet'
crop_size = (32, 32)
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        backbone_hr=dict(
            arch=dict(_delete_=True, embed_dims=32, depths=(1, 1, 1, 1),
                      num_heads=(1, 2, 4, 8), extra_norm_every_n_blocks=0),
            img_size=crop_size[0],
            window_size=4,
            drop_path_rate=0.0)),
    decode_head=dict(in_channels=[32, 64, 128, 256], channels=32,
                     norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=128, channels=16, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='skysense_mm.LoadDynamicEarthNetImage'),
    dict(type='skysense_mm.LoadDynamicEarthNetAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='skysense_mm.DynamicEarthNetDataset', data_root=data_root,
    modality='planet', frames='single')
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset, split='train',
                 pipeline=train_pipeline))
test_dataloader = dict(num_workers=0, persistent_workers=False)

max_iters = 2
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
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
