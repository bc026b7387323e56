# SkySense (https://arxiv.org/abs/2312.10115) on NWPU-RESISC45, TR 10% (paper
# OA 94.85, Tab. 3), full fine-tuning mode: the HR encoder and the linear
# head are trained (frozen_stages=-1, drop path 0.2), AdamW lr 1e-4, wd 0.05,
# 100 epochs cosine (decided here; the paper gives no schedule).
_base_ = [
    '../../../_base_/models/skysense_swinv2-huge_linear-cls.py',
    '../../../_base_/datasets/cls_resisc45.py',
    '../../../_base_/schedules/cls_finetune_adamw_100e.py',
    '../../../_base_/cls_runtime.py',
]
model = dict(
    backbone=dict(frozen_stages=-1, drop_path_rate=0.2),
    head=dict(num_classes=45))
