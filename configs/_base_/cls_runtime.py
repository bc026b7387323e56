# Runtime of the SkySense scene classification configs
# (https://arxiv.org/abs/2312.10115, Tab. 3), MMPretrain scope: SkySense
# modules are reached as `skysense_mm.<Name>`, mmpretrain's by plain names.
# Shared by configs/benchmarks/cls/*; epoch-based like mmpretrain's
# default_runtime.py.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['skysense_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2,
                    save_best='accuracy/top1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
