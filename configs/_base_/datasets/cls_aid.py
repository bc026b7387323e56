# AID (30 classes, https://arxiv.org/abs/2312.10115 Tab. 3) on the official
# tree data/AID/<Class>/<class>_<n>.jpg, with split files written by
#   python tools/dataset_converters/make_cls_split.py data/AID --dataset aid \
#       --train-ratio 0.2 --seed 0 --out data/AID/splits/tr20_seed0
# (and --train-ratio 0.5 ... tr50_seed0). Test set = the images not in
# train (no separate validation set: val = test, as in the literature).
_base_ = ['./cls_scene_256x256.py']
dataset_type = 'skysense_mm.AIDDataset'
data_root = 'data/AID'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='splits/tr20_seed0/train.txt'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='splits/tr20_seed0/test.txt'))
test_dataloader = val_dataloader
