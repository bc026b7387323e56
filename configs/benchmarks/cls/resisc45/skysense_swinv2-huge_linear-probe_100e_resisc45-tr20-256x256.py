# NWPU-RESISC45 linear probe at TR 20% (paper OA 96.32,
# https://arxiv.org/abs/2312.10115 Tab. 3); the TR 10% config with the
# tr20_seed0 split files.
_base_ = ['./skysense_swinv2-huge_linear-probe_100e_resisc45-tr10-256x256.py']
split = 'splits/tr20_seed0/'
train_dataloader = dict(dataset=dict(ann_file=split + 'train.txt'))
val_dataloader = dict(dataset=dict(ann_file=split + 'test.txt'))
test_dataloader = val_dataloader
