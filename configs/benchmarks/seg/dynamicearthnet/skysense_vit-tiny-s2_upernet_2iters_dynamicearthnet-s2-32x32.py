# Tiny variant of skysense_vit-large-s2_upernet_40k_dynamicearthnet-s2-
# 512x512.py for tests (https://arxiv.org/abs/2312.10115): tiny SkySense S2
# ViT (64 dims, 2 layers), the S2 composite resampled to the 64x64 label
# grid then halved (32x32), 16x16 training crops, 2 iterations on CPU,
# whole-tile test with logits resized back to the label grid. Runs on a tree
# in the official layout written by tests/_dynamicearthnet_layout.py.
_base_ = './skysense_vit-large-s2_upernet_40k_dynamicearthnet-s2-512x512.py'

data_root = 'data/dynamicearthnet'
crop_size = (16, 16)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        backbone_s2=dict(
            _delete_=True,
            type='skysense_mm.SkySenseViT',
            arch=dict(embed_dims=64, num_layers=2, num_heads=2),
            img_size=crop_size[0],
            patch_size=4,
            in_channels=10,
            modality='s2',
            out_indices=(0, 1),
            drop_path_rate=0.0,
            with_cls_token=False,
            norm_cfg=dict(type='LN', eps=1e-6))),
    neck=dict(in_channels=[64, 64], out_channels=32, scales=[1, 0.5]),
    decode_head=dict(
        in_channels=[32, 32], in_index=[0, 1], channels=32,
        dropout_ratio=0.0, norm_cfg=dict(type='BN', requires_grad=True)))

train_pipeline = [
    dict(type='skysense_mm.LoadDynamicEarthNetImage', resize_to_label=True),
    dict(type='skysense_mm.LoadDynamicEarthNetAnnotations'),
    dict(type='Resize', scale_factor=0.5, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='skysense_mm.LoadDynamicEarthNetImage', resize_to_label=True),
    dict(type='Resize', scale_factor=0.5, keep_ratio=True),
    dict(type='skysense_mm.LoadDynamicEarthNetAnnotations'),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='skysense_mm.DynamicEarthNetDataset', data_root=data_root,
    modality='s2')
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset, split='train',
                 pipeline=train_pipeline))
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset, split='test',
                 pipeline=test_pipeline))

max_iters = 2
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=max_iters, save_best=None))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
