# SkySense (https://arxiv.org/abs/2312.10115) Tab. 3, fMoW-S2 (temporal):
# paper top-1 / top-5 64.38 / 87.27 (linear head). The paper gives neither the
# number of dates nor the optimiser; our choices: T = 3 dates per location
# (as SatMAE's temporal model), SatMAE's input size 96 and band selection
# (B1, B9, B10 dropped -> the 10 bands of the SkySense S2 encoder), top-1 on
# val.csv (as SatMAE), linear probe with SGD lr 0.1 / 100 epochs / steps
# 60/80 / batch 64 (the DeCUR-style linear schedule of the BigEarthNet config).
# Model: the S2 encoder g_Ms (ViT-L) on every date, the fusion transformer
# (24 layers, d = 1024, day-of-year date embedding) over the dates at every
# pixel, global average pooling of its extra-token output F_fus^mm, linear
# head (62 classes). See ../shared/design/BENCHMARK_PROTOCOLS.md (d).
_base_ = ['../../../_base_/cls_runtime.py']

data_root = 'data/fmow-sentinel'
num_dates = 3
img_size = 96
# SkySense++ normalisation of the released S2 weights (raw L2A DN)
s2_mean = [884.30, 1144.16, 1297.47, 1624.91, 2194.64, 2422.21, 2517.76,
           2581.65, 2368.51, 1805.07]
s2_std = [1155.15, 1183.63, 1368.11, 1370.27, 1355.55, 1416.51, 1474.79,
          1439.31, 1455.52, 1343.48]
pretrained = None  # path of the SkySense release converted to our keys

model = dict(
    type='skysense_mm.SkySenseClassifier',
    freeze_backbone=True,  # linear probe; False: full fine-tune
    data_preprocessor=dict(
        type='skysense_mm.SeriesClsDataPreprocessor', mean=s2_mean,
        std=s2_std, modality='s2'),
    backbone=dict(
        type='skysense_mm.SkySense',
        backbone_s2=dict(
            type='skysense_mm.SkySenseViT',
            arch='large',
            modality='s2',
            in_channels=10,
            img_size=img_size,
            patch_size=4,
            out_indices=(23, ),
            qkv_bias=True,
            drop_path_rate=0.0,
            with_cls_token=False,
            norm_cfg=dict(type='LN', eps=1e-6)),
        fusion_neck=dict(
            type='skysense_mm.SkySenseFusionNeck',
            in_channels=2816,
            in_channels_s2=1024,
            in_channels_s1=None,
            lift_scale=4,
            embed_dims=1024,
            num_layers=24,
            num_heads=16,
            mlp_ratio=4,
            drop_path_rate=0.0),
        init_cfg=None if pretrained is None else dict(
            type='Pretrained', checkpoint=pretrained)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=62,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

pack = dict(type='PackInputs', meta_keys=('doy', 'date_mask', 'location'))
train_pipeline = [
    dict(type='skysense_mm.LoadFMoWSentinelSeries', num_dates=num_dates,
         size=img_size, sample='random'),
    pack,
]
test_pipeline = [
    dict(type='skysense_mm.LoadFMoWSentinelSeries', num_dates=num_dates,
         size=img_size, sample='uniform'),
    pack,
]
train_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='skysense_mm.FMoWSentinelDataset', data_root=data_root,
        ann_file='train.csv', data_prefix='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='skysense_mm.FMoWSentinelDataset', data_root=data_root,
        ann_file='val.csv', data_prefix='val', pipeline=test_pipeline))
test_dataloader = val_dataloader  # SatMAE reports val.csv
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[60, 80], gamma=0.1)
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)

# Runtime (hooks, env, visualizer) from _base_/cls_runtime.py; only what differs here:
default_hooks = dict(logger=dict(interval=50))
