# SkySense (https://arxiv.org/abs/2312.10115) on NWPU-RESISC45, Tab. 3: "a
# linear classifier head" on the SkySense HR encoder (Swin-V2-H), overall
# accuracy (OA = top-1) 94.85 at train ratio (TR) 10% (paper). Linear-probe
# mode: frozen encoder, global average pooling + linear layer.
# Decided here (the paper gives no schedule): 256x256 inputs (native size),
# batch 64 (8 GPUs x 8), AdamW lr 1e-3, 100 epochs cosine, random split seed
# 0 from tools/dataset_converters/make_cls_split.py (see
# _base_/datasets/cls_resisc45.py).
_base_ = [
    '../../../_base_/models/skysense_swinv2-huge_linear-cls.py',
    '../../../_base_/datasets/cls_resisc45.py',
    '../../../_base_/schedules/cls_linear-probe_adamw_100e.py',
    '../../../_base_/cls_runtime.py',
]
model = dict(head=dict(num_classes=45))
