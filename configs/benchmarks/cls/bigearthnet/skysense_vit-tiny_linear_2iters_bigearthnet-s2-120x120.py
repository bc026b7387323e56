# Tiny variant of skysense_vit-large_linear_100pct_bigearthnet-s2-120x120.py
# for tests (https://arxiv.org/abs/2312.10115): a 1-layer 32-dim S2 ViT, 2
# iterations, CPU, on the 3 real BigEarthNet-S2 v1.0 example patches of
# ../shared/data (no split CSV: every patch folder; train and test alike).
_base_ = './skysense_vit-large_linear_100pct_bigearthnet-s2-120x120.py'

data_root = ('../shared/data/BigEarthNet/kai-tub__bigearthnet_common/src/'
             'bigearthnet_common')
patch_dir = 'BigEarthNet-S2-Example'
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=1,
                            num_heads=2),
                  out_indices=(0, )),
    head=dict(in_channels=32))
dataset = dict(
    type='skysense_mm.BigEarthNetS2Dataset', data_root=data_root,
    ann_file='', data_prefix=patch_dir)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset,
                 pipeline={{_base_.train_pipeline}}))
test_dataloader = dict(
    batch_size=3, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **dataset,
                 pipeline={{_base_.test_pipeline}}))
val_dataloader = None
val_cfg = None
val_evaluator = None
param_scheduler = []
train_cfg = dict(_delete_=True, by_epoch=False, max_iters=2, val_interval=2)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=2, save_best=None))
randomness = dict(seed=0)
log_processor = dict(by_epoch=False)
