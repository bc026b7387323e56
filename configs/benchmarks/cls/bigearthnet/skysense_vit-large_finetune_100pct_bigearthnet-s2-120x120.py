# SkySense (https://arxiv.org/abs/2312.10115): BigEarthNet-S2 with the S2
# encoder fine-tuned (the paper's Tab. 3 numbers are linear probing; this is
# the full fine-tune mode, no paper number). AdamW, lr 1e-4, cosine, drop
# path 0.1: our choice.
_base_ = './skysense_vit-large_linear_100pct_bigearthnet-s2-120x120.py'

model = dict(freeze_backbone=False, backbone=dict(drop_path_rate=0.1))
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
