# SkySense HR encoder (Swin-V2-H, https://arxiv.org/abs/2312.10115) + global
# average pooling + one linear layer ("a linear classifier head", Sec. 4.2),
# MMPretrain ImageClassifier. Defaults are the linear-probe mode: the whole
# encoder is frozen (frozen_stages=3 freezes the patch embedding, the four
# stages with their patch merging and the output norm; it also keeps them in
# eval mode, so drop path is off). Fine-tune configs set frozen_stages=-1.
# Set num_classes in the data set config. Weights: convert the official
# release with tools/model_converters/skysense_official2mm.py and set
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...,
# prefix='backbone_hr.').
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        # HR normalisation of the released weights: /255 + ImageNet mean/std
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='skysense_mm.SkySenseSwinV2',
        arch='huge',  # embed 352, depths (2, 2, 18, 2), heads (8, 16, 32, 64)
        img_size=256,
        window_size=8,
        drop_path_rate=0.0,
        out_indices=(3, ),
        frozen_stages=3,  # linear probe; -1 = fine-tune everything
        pretrained_window_sizes=(0, 0, 0, 0)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=None,
        in_channels=2816,  # 352 * 8, stage-3 channels
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
