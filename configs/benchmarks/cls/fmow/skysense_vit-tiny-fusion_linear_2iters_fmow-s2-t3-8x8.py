# Tiny variant of skysense_vit-large-fusion_linear_fmow-s2-t3-96x96.py for
# tests (https://arxiv.org/abs/2312.10115): 1-layer 32-dim S2 ViT and fusion
# transformer, 8x8 images, 3 dates, 2 iterations, CPU. There is no real
# fMoW-Sentinel sample in ../shared/data: the tests write the documented
# layout with tests/_fmow_sentinel_layout.py and set data_root.
_base_ = './skysense_vit-large-fusion_linear_fmow-s2-t3-96x96.py'

data_root = 'data/fmow-sentinel'  # set by the test (--cfg-options)
img_size = 8
num_dates = 3
model = dict(
    backbone=dict(
        backbone_s2=dict(
            arch=dict(_delete_=True, embed_dims=32, num_layers=1,
                      num_heads=2),
            img_size=img_size, out_indices=(0, )),
        fusion_neck=dict(in_channels=64, in_channels_s2=32, embed_dims=32,
                         num_layers=1, num_heads=2, mlp_ratio=2)),
    head=dict(in_channels=32))
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
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
test_dataloader = dict(
    _delete_=True, batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='skysense_mm.FMoWSentinelDataset', data_root=data_root,
        ann_file='val.csv', data_prefix='val', pipeline=test_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
param_scheduler = []
train_cfg = dict(_delete_=True, by_epoch=False, max_iters=2, val_interval=2)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=2, save_best=None))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
