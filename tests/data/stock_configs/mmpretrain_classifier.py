# A stock MMPretrain config with a skysense_mm backbone dropped in.
_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py']
custom_imports = dict(imports=['skysense_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='skysense_mm.SkySenseSwinV2',
        arch=dict(embed_dims=32, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8),
                  extra_norm_every_n_blocks=0),
        img_size=64, window_size=4, out_indices=(3, )),
    head=dict(in_channels=256, num_classes=5))
