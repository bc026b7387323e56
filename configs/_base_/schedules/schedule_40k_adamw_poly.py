# 40k-iteration variant of schedule_80k_adamw_poly.py (the SkySense iSAID
# recipe of https://arxiv.org/abs/2312.10115: AdamW 6e-5, wd 0.01, 1500
# linear warm-up iterations, poly), validation every 4k iterations. Used by
# LEVIR-CD. A config changing max_iters / warmup_iters restates
# param_scheduler (mmengine resolves them in this file).
max_iters = 40000
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
                 val_interval=4000)
