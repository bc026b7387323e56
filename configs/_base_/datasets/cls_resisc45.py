# NWPU-RESISC45 (45 classes, https://arxiv.org/abs/2312.10115 Tab. 3) on the
# official tree data/NWPU-RESISC45/<class>/<class>_<nnn>.jpg, with split
# files written by
#   python tools/dataset_converters/make_cls_split.py data/NWPU-RESISC45 \
#       --dataset resisc45 --train-ratio 0.1 --seed 0 \
#       --out data/NWPU-RESISC45/splits/tr10_seed0
# (and --train-ratio 0.2 ... tr20_seed0). Test set = the images not in
# train (val = test, as in the literature).
_base_ = ['./cls_scene_256x256.py']
dataset_type = 'skysense_mm.RESISC45Dataset'
data_root = 'data/NWPU-RESISC45'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='splits/tr10_seed0/train.txt'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='splits/tr10_seed0/test.txt'))
test_dataloader = val_dataloader
