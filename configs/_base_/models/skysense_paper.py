# SkySense at the paper's full size (https://arxiv.org/abs/2312.10115):
# Swin-V2-H (HR) + 2x ViT-L (S2, S1) + UPHead lifts + 24-layer fusion (d=1024)
# + 4096 regions x 100 prototypes x 1024 geo-context prototypes: ~2.08e9
# parameters with the prototypes (the paper: 2.06e9), in the state-dict layout
# of the official release (see skysense_mm/models/utils/official_ckpt.py).
# Input geometry of the release: HR 512x512 (stride-32 grid 16x16) with
# S2/S1 16x16 pixels (ViT patch 4 -> 4x4 tokens -> lifted x4 to 16x16).
vit_l = dict(
    type='skysense_mm.SkySenseViT',
    arch='large',  # 1024 dims, 24 layers, 16 heads
    img_size=16,
    patch_size=4,
    out_indices=(5, 11, 17, 23),
    qkv_bias=True,
    drop_path_rate=0.3,
    with_cls_token=False,  # as SkySense++ uses the released weights
    norm_cfg=dict(type='LN', eps=1e-6),
    with_cp=False)

model = dict(
    type='skysense_mm.SkySense',
    backbone_hr=dict(
        type='skysense_mm.SkySenseSwinV2',
        arch='huge',  # embed 352, depths (2, 2, 18, 2), heads (8, 16, 32, 64)
        img_size=512,
        patch_size=4,
        in_channels=3,
        window_size=8,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        use_abs_pos_embed=False,
        pretrained_window_sizes=(0, 0, 0, 0),
        with_cp=False),
    backbone_s2=dict(vit_l, modality='s2', in_channels=10),
    backbone_s1=dict(vit_l, modality='s1', in_channels=2),
    fusion_neck=dict(
        type='skysense_mm.SkySenseFusionNeck',
        in_channels=2816,  # HR stride-32 channels = fusion token width
        in_channels_s2=1024,
        in_channels_s1=1024,
        lift_scale=4,
        embed_dims=1024,
        num_layers=24,
        num_heads=16,
        mlp_ratio=4,
        drop_path_rate=0.3,
        with_cp=False),
    geo_prototypes=dict(
        type='skysense_mm.GeoContextPrototypes',
        num_regions=4096,  # 64 x 64 equal-area grid
        num_prototypes=100,
        embed_dims=1024),
    fused_output='append')
