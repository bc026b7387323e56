# A stock MMSegmentation config with a skysense_mm backbone dropped in.
_base_ = ['mmseg::upernet/upernet_r50_4xb2-40k_cityscapes-512x1024.py']
custom_imports = dict(imports=['skysense_mm'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(
        _delete_=True,
        type='skysense_mm.SkySenseSwinV2',
        arch=dict(embed_dims=32, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8),
                  extra_norm_every_n_blocks=0),
        img_size=64, window_size=4),
    decode_head=dict(in_channels=[32, 64, 128, 256], channels=32,
                     norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=128, channels=16, norm_cfg=norm_cfg))
