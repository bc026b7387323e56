# tools/train.py / tools/test.py on an MMPretrain config (default_scope
# 'mmpretrain'): the tiny SkySense HR encoder + a linear head on the real AID
# sample (30 classes x 1 image, official folder-per-class layout).
_base_ = ['./mmpretrain_classifier.py']
model = dict(head=dict(num_classes=30))
data_root = '../shared/data/AID/zlima__testtensor/AID'
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01,
                                    _delete_=True))
param_scheduler = []
train_cfg = dict(by_epoch=False, max_iters=2, val_interval=2, _delete_=True)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2),
                     logger=dict(interval=1))
