# SkySense (https://arxiv.org/abs/2312.10115) Tab. 3, BigEarthNet-S2 linear
# probe with 10% of the training patches (seeded draw, seed 42, after the
# snow/cloud exclusions): paper mAP 88.67. Same settings as the 100% config.
_base_ = './skysense_vit-large_linear_100pct_bigearthnet-s2-120x120.py'

train_ratio = 0.1
train_dataloader = dict(dataset=dict(train_ratio=train_ratio))
