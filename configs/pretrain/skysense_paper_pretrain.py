# SkySense pre-training (https://arxiv.org/abs/2312.10115, §3.3, §4.1) at
# the paper's size: Swin-V2-H (HR) + 2x ViT-L (S2, S1) + 24-layer fusion +
# 4096 regions x 100 geo-context prototypes, student and teacher, with
# mmengine DDP (tools/dist_train.sh). See docs/pretrain.md.
#
#   NNODES=10 NODE_RANK=<i> MASTER_ADDR=<host> \
#     bash tools/dist_train.sh configs/pretrain/skysense_paper_pretrain.py 8
#
# From the paper: batch 240 (80 GPUs x 3 samples), multi-crop + Gaussian
# blur + solarization on HR, random fixed-length S2/S1 subsequences with date
# disturbance, 4096 regions x 100 prototypes. Not in the paper (our choices,
# DINO defaults where one exists): optimizer and schedule, head sizes,
# temperatures, T' (20 S2 / 10 S1 dates), crop sizes, N_C, iterations.
# The FSDP variant: configs/pretrain/skysense_paper_pretrain_fsdp.py.
_base_ = ['./skysense_tiny_pretrain_demo.py']

data_root = 'data/pretrain'  # the documented format (docs/pretrain_data.md)
max_iters = 200000
global_size = 512  # HR global views (release geometry: S2/S1 16x16 px)
local_size = 256
num_local = 4
s2_length = 20
s1_length = 10
samples_per_gpu = 3  # x 80 GPUs = 240 (the paper)

model = dict(
    _delete_=True,
    type='SkySensePretrain',
    data_preprocessor=dict(type='SkySensePretrainDataPreprocessor'),
    backbone=dict(
        type='skysense_mm.SkySense',
        backbone_hr=dict(
            type='skysense_mm.SkySenseSwinV2',
            arch='huge',
            img_size=global_size,
            patch_size=4,
            in_channels=3,
            window_size=8,
            drop_path_rate=0.2,
            out_indices=(0, 1, 2, 3),
            use_abs_pos_embed=False,
            pretrained_window_sizes=(0, 0, 0, 0),
            with_cp=True),
        backbone_s2=dict(
            type='skysense_mm.SkySenseViT',
            arch='large',
            img_size=16,
            patch_size=4,
            out_indices=(5, 11, 17, 23),
            qkv_bias=True,
            drop_path_rate=0.3,
            with_cls_token=False,
            norm_cfg=dict(type='LN', eps=1e-6),
            with_cp=True,
            modality='s2',
            in_channels=10),
        backbone_s1=dict(
            type='skysense_mm.SkySenseViT',
            arch='large',
            img_size=16,
            patch_size=4,
            out_indices=(5, 11, 17, 23),
            qkv_bias=True,
            drop_path_rate=0.3,
            with_cls_token=False,
            norm_cfg=dict(type='LN', eps=1e-6),
            with_cp=True,
            modality='s1',
            in_channels=2),
        fusion_neck=dict(
            type='skysense_mm.SkySenseFusionNeck',
            in_channels=2816,
            in_channels_s2=1024,
            in_channels_s1=1024,
            lift_scale=4,
            embed_dims=1024,
            num_layers=24,
            num_heads=16,
            mlp_ratio=4,
            drop_path_rate=0.3,
            with_cp=True),
        geo_prototypes=dict(
            type='skysense_mm.GeoContextPrototypes',
            num_regions=4096,  # N_R (the paper), 64 x 64 equal-area grid
            num_prototypes=100,  # N_p (the paper)
            embed_dims=1024),
        fused_output='append'),
    # HR stride-32 width, ViT-L width, F_fus = 2d with geo-context
    in_channels=dict(hr=2816, s2=1024, s1=1024, fused=2048),
    head=dict(  # DINO's head
        out_channels=65536,
        hidden_channels=2048,
        bottleneck_channels=256,
        num_layers=3),
    alpha=1.0,
    beta=1.0,
    student_temp=0.1,
    teacher_temp=0.04,
    center_momentum=0.9,
    num_clusters=8,
    sinkhorn_epsilon=0.05,
    align_dim=256,
    align_temp=0.07,
    proto_momentum=0.99,
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
    dict(type='RandomSubsequence', length=s2_length, modalities=('s2', )),
    dict(type='RandomSubsequence', length=s1_length, modalities=('s1', )),
    dict(type='DateJitter', max_days=5),
    dict(type='PackSkySensePretrainInputs', with_pixel_valid=True),
]
train_dataloader = dict(
    batch_size=samples_per_gpu,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))

# DINO: lr 5e-4 x total batch / 256, AdamW, bf16 autocast
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=5e-4 * 240 / 256, weight_decay=0.04),
    clip_grad=dict(max_norm=3.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=10000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10000,
         end=max_iters, eta_min=1e-6),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=5000,
        max_keep_ckpts=3))
env_cfg = dict(dist_cfg=dict(backend='nccl'))
# teacher EMA 0.996 -> 1 (DINO), RNG states in checkpoints (inherited)
auto_scale_lr = dict(enable=False, base_batch_size=240)
