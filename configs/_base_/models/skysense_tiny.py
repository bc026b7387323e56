# A tiny SkySense with the paper's structure, for tests and the demo
# (https://arxiv.org/abs/2312.10115). HR 128x128 -> stride-32 grid 4x4;
# S2/S1 must then be 4x4 pixels (ViT patch 4 -> 1x1 token -> lifted x4).
vit_tiny = dict(
    type='skysense_mm.SkySenseViT',
    arch=dict(embed_dims=64, num_layers=2, num_heads=2),
    img_size=8,
    patch_size=4,
    out_indices=(0, 1),
    drop_path_rate=0.1,
    with_cls_token=False,
    norm_cfg=dict(type='LN', eps=1e-6))

model = dict(
    type='skysense_mm.SkySense',
    backbone_hr=dict(
        type='skysense_mm.SkySenseSwinV2',
        arch=dict(embed_dims=32, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8)),
        img_size=128,
        patch_size=4,
        in_channels=3,
        window_size=4,
        drop_path_rate=0.1,
        out_indices=(0, 1, 2, 3)),
    backbone_s2=dict(vit_tiny, modality='s2', in_channels=10),
    backbone_s1=dict(vit_tiny, modality='s1', in_channels=2),
    fusion_neck=dict(
        type='skysense_mm.SkySenseFusionNeck',
        in_channels=256,  # HR stride-32 channels (32 * 8)
        in_channels_s2=64,
        in_channels_s1=64,
        lift_scale=4,
        embed_dims=64,
        num_layers=2,
        num_heads=2,
        mlp_ratio=2,
        drop_path_rate=0.1),
    geo_prototypes=dict(
        type='skysense_mm.GeoContextPrototypes',
        num_regions=16,  # 4 x 4 equal-area grid
        num_prototypes=8,
        embed_dims=64),
    fused_output='append')
