# SkySense pre-training (https://arxiv.org/abs/2312.10115, §3.3) of the tiny
# SkySense on the procedurally generated demo world:
#   python tools/misc/make_demo_data.py --out data/demo_mm
#   python tools/train.py configs/pretrain/skysense_tiny_pretrain_demo.py
# The downstream weights are the teacher's: load the checkpoint with
# init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='teacher.backbone.')
_base_ = ['../_base_/models/skysense_tiny.py']
default_scope = 'skysense_mm'
custom_imports = dict(imports=['skysense_mm'], allow_failed_imports=False)

data_root = 'data/demo_mm'
max_iters = 150
global_size = 128  # HR global views; S2/S1 views are global_size / 32
local_size = 64
num_local = 2
series_length = 4  # T' (paper: 20 S2 dates, 10 S1 dates)

# geo-context prototypes: N_R regions (4 x 4 equal-area grid), N_p each
num_regions = 16
num_prototypes = 8

model = dict(
    _delete_=True,
    type='SkySensePretrain',
    data_preprocessor=dict(type='SkySensePretrainDataPreprocessor'),
    backbone=dict(
        type='skysense_mm.SkySense',
        backbone_hr={{_base_.model.backbone_hr}},
        backbone_s2={{_base_.model.backbone_s2}},
        backbone_s1={{_base_.model.backbone_s1}},
        fusion_neck={{_base_.model.fusion_neck}},
        geo_prototypes=dict(
            type='skysense_mm.GeoContextPrototypes',
            num_regions=num_regions,
            num_prototypes=num_prototypes,
            embed_dims=64),
        fused_output='append'),
    # stream widths: HR stride-32 level, ViT embed dims, F_fus = 2d
    in_channels=dict(hr=256, s2=64, s1=64, fused=128),
    head=dict(
        out_channels=256,
        hidden_channels=256,
        bottleneck_channels=64,
        num_layers=3),
    alpha=1.0,  # weight of L_MGCL
    beta=1.0,  # weight of L_align
    student_temp=0.1,
    teacher_temp=0.04,
    center_momentum=0.9,
    num_clusters=4,  # N_C
    sinkhorn_epsilon=0.05,
    align_dim=64,
    align_temp=0.07,
    proto_momentum=0.99,  # m of Eq. 13
    proto_sinkhorn_iters=3,
    use_local_views=True)

train_pipeline = [
    dict(type='LoadSkySensePretrainSample', min_s2_dates=1, min_s1_dates=0),
    dict(
        type='MultiViewCrop',
        global_size=global_size,
        local_size=local_size,
        num_local=num_local),
    dict(type='RandomViewFlipRotate'),
    dict(type='HRViewColorJitter'),
    dict(type='HRViewGaussianBlur'),
    dict(type='HRViewSolarize'),
    dict(type='RandomSubsequence', length=series_length),
    dict(type='DateJitter', max_days=5),
    dict(type='PackSkySensePretrainInputs', with_pixel_valid=True),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='skysense_pretrain_collate'),
    dataset=dict(
        type='SkySensePretrainDataset',
        data_root=data_root,
        ann_file='splits/all.txt',
        on_error='skip',
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.04),
    clip_grad=dict(max_norm=3.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=max_iters,
         eta_min=1e-6),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_cfg = None
val_dataloader = None
val_evaluator = None

custom_hooks = [
    # teacher EMA after every optimizer step, cosine 0.996 -> 1.0
    dict(type='TeacherEMAHook', base_momentum=0.996, final_momentum=1.0),
    dict(type='RNGStateHook'),
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=100,
        max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'))
# heads of unused levels (HR norms 0-2, ViT cls tokens) get no gradient
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
randomness = dict(seed=0)
log_level = 'INFO'
load_from = None
resume = False
visualizer = dict(
    type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
