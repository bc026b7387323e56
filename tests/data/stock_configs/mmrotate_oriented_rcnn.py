# A stock MMRotate config with a skysense_mm backbone dropped in.
_base_ = ['mmrotate::oriented_rcnn/oriented-rcnn-le90_r50_fpn_1x_dota.py']
custom_imports = dict(imports=['skysense_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='skysense_mm.SkySenseSwinV2',
        arch=dict(embed_dims=32, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8),
                  extra_norm_every_n_blocks=0),
        img_size=64, window_size=4),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=64)))
