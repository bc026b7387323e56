# 10k-iteration AdamW + poly schedule (https://arxiv.org/abs/2312.10115
# does not publish the OSCD schedule; chosen for OSCD: AdamW lr 1e-4, wd
# 0.05, 500 linear warm-up iterations, poly), validation every 1k
# iterations. A config changing max_iters / warmup_iters restates
# param_scheduler (mmengine resolves them in this file).
max_iters = 10000
warmup_iters = 500
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False,
         begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=1000)
