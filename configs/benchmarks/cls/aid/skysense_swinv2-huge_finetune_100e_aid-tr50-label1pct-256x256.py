# Fig. 4a of SkySense (https://arxiv.org/abs/2312.10115): fine-tuning on AID
# with a fraction of the training labels (1% here; SkySense beats Scale-MAE
# by 4.17 OA at 1%). Decided here (the paper does not say): the fractions are
# of the TR 50% train split, drawn per class and nested by
#   python tools/dataset_converters/make_cls_split.py data/AID --dataset aid \
#       --train-ratio 0.5 --seed 0 --out data/AID/splits/tr50_seed0 \
#       --label-ratio 0.01 0.05 0.1 0.2 0.5 1.0
# (train_<p>pct.txt); the test set stays the full TR 50% test split. Other
# fractions: train_dataloader.dataset.ann_file=splits/tr50_seed0/train_5pct.txt
_base_ = ['./skysense_swinv2-huge_finetune_100e_aid-tr50-256x256.py']
train_dataloader = dict(
    dataset=dict(ann_file='splits/tr50_seed0/train_1pct.txt'))
