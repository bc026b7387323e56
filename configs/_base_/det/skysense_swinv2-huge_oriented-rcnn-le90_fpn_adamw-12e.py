# Oriented-box detection recipe of SkySense (https://arxiv.org/abs/2312.10115,
# Tab. 2b): MMRotate's Oriented R-CNN (le90) with FPN on the SkySense HR
# encoder (skysense_mm.SkySenseSwinV2, Swin-V2-H). The paper gives no
# DIOR-R / FAIR1M schedule; we use its DIOR one: AdamW lr 1e-4, weight decay
# 0.05, 12 epochs, lr x0.1 after epochs 8 and 11, 500-iteration linear
# warm-up, drop path 0.2, no weight decay on norms / Swin-V2 position-bias
# and logit-scale parameters. The benchmark config sets data, num_classes and
# img_size (800 here). MMRotate ships no model-only base, so this inherits
# its DOTA config and replaces the schedule: the block is restated from
# skysense_swinv2-huge_faster-rcnn_fpn_adamw-12e.py (keep them in step).
_base_ = ['mmrotate::oriented_rcnn/oriented-rcnn-le90_r50_fpn_1x_dota.py']
custom_imports = dict(imports=['skysense_mm'], allow_failed_imports=False)
default_scope = 'mmrotate'

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
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[8, 11], gamma=0.1),
]
optim_wrapper = dict(
    _delete_=True,
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
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                     max_keep_ckpts=2))
