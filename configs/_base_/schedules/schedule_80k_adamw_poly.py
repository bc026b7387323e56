# 80k-iteration AdamW + poly schedule of the SkySense dense fine-tuning
# (https://arxiv.org/abs/2312.10115, iSAID: AdamW lr 6e-5, weight decay
# 0.01, poly, 1500 linear warm-up iterations, 80k iterations). Used by the
# iSAID and Potsdam configs; validation (and checkpoints, set by the configs'
# CheckpointHook) every 8k iterations. mmengine resolves max_iters /
# warmup_iters here, so a config changing them restates param_scheduler.
max_iters = 80000
warmup_iters = 1500
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999),
                   weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False,
         begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=8000)
