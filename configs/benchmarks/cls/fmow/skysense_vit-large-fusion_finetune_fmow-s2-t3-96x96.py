# SkySense (https://arxiv.org/abs/2312.10115): fMoW-S2 temporal with the S2
# encoder and the fusion transformer fine-tuned (the paper's Tab. 3 numbers
# are with a linear head; this is the full fine-tune mode, no paper number).
# AdamW lr 1e-4, cosine, drop path 0.1, activation checkpointing: our choice.
_base_ = './skysense_vit-large-fusion_linear_fmow-s2-t3-96x96.py'

model = dict(
    freeze_backbone=False,
    backbone=dict(
        backbone_s2=dict(drop_path_rate=0.1, with_cp=True),
        fusion_neck=dict(drop_path_rate=0.1, with_cp=True)))
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=5, end=100,
         eta_min=1e-6)
]
auto_scale_lr = dict(base_batch_size=16)
