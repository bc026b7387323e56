# Horizontal-box detection recipe of SkySense (https://arxiv.org/abs/2312.10115,
# Tab. 2b): mmdet Faster R-CNN with FPN on the SkySense HR encoder
# (skysense_mm.SkySenseSwinV2, Swin-V2-H), and the paper's DIOR schedule:
# AdamW lr 1e-4, weight decay 0.05, 12 epochs, lr x0.1 after epochs 8 and 11.
# Decided here (not in the paper): 500-iteration linear warm-up, drop path
# 0.2, no weight decay on norms / Swin-V2 position-bias and logit-scale
# parameters. The benchmark config sets data, num_classes and img_size (800
# here). The oriented twin is skysense_swinv2-huge_oriented-rcnn-le90_fpn_
# adamw-12e.py (keep their backbone and schedule blocks in step).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['skysense_mm'], allow_failed_imports=False)
default_scope = 'mmdet'

model = dict(
    backbone=dict(
        _delete_=True,
        type='skysense_mm.SkySenseSwinV2',
        arch='huge',  # embed 352, depths (2, 2, 18, 2), heads (8, 16, 32, 64)
        img_size=800,
        patch_size=4,
        in_channels=3,
        window_size=8,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        use_abs_pos_embed=False,
        pretrained_window_sizes=(0, 0, 0, 0),
        with_cp=False),
    neck=dict(in_channels=[352, 704, 1408, 2816], out_channels=256,
              num_outs=5))

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[8, 11], gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'norm': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'cpb_mlp': dict(decay_mult=0.),
            'logit_scale': dict(decay_mult=0.),
        }))
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                     max_keep_ckpts=2))
