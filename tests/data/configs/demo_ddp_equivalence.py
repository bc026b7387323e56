# The demo model, made exactly comparable between 1 process with batch 2B and
# 2 processes with batch B each: no random augmentation, GroupNorm instead of
# BatchNorm (per-process statistics), plain SGD (Adam's normalisation
# amplifies float noise in near-zero gradients), no class weights (mmseg
# divides a weighted CE by the batch's summed weights, a batch-level ratio).
_base_ = ['../../../configs/demo/skysense_swinv2-tiny_upernet_demo-64x64.py']
model = dict(
    decode_head=dict(
        norm_cfg=dict(type='GN', num_groups=8),
        loss_decode=dict(class_weight=None)))
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs'),
    ]))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
param_scheduler = []
train_cfg = dict(max_iters=3, val_interval=100)
default_hooks = dict(
    checkpoint=dict(interval=3), logger=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
