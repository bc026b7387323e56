# AID linear probe at TR 50% (paper OA 98.60, https://arxiv.org/abs/2312.10115
# Tab. 3); the TR 20% config with the tr50_seed0 split files.
_base_ = ['./skysense_swinv2-huge_linear-probe_100e_aid-tr20-256x256.py']
split = 'splits/tr50_seed0/'
train_dataloader = dict(dataset=dict(ann_file=split + 'train.txt'))
val_dataloader = dict(dataset=dict(ann_file=split + 'test.txt'))
test_dataloader = val_dataloader
