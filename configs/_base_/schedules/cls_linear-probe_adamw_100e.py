# Linear-probe schedule of the SkySense scene classification configs
# (https://arxiv.org/abs/2312.10115; the paper gives no schedule, decided
# here): AdamW lr 1e-3 (batch 64), weight decay 1e-4, 5 warm-up epochs,
# cosine to 0 over 100 epochs; only the head has trainable parameters.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=95, eta_min=0.0, by_epoch=True,
         begin=5, end=100),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
