# SkySense (https://arxiv.org/abs/2312.10115) on FAIR1M v2.0, Tab. 2b:
# Oriented R-CNN (le90) with FPN on the SkySense HR encoder (Swin-V2-H),
# mAP 54.57 (paper, official leaderboard test set). The paper gives no
# FAIR1M schedule; it "follows [55] RingMo, [62] RVSA". Decided here (as
# for DIOR-R): AdamW lr 1e-4, weight decay 0.05, 12 epochs, lr x0.1 after
# epochs 8 and 11, 500-iteration linear warm-up, batch 2 per GPU x 8 GPUs,
# horizontal / vertical / diagonal flips, no weight decay on norms / Swin-V2
# position-bias and logit-scale parameters, drop path 0.2.
# Protocol (decided here, the usual single-scale FAIR1M/DOTA one): images
# split into 1024x1024 patches with 200 px overlap by
# tools/dataset_converters/fair1m_split.py (MMRotate's splitter; objects kept
# in a patch when >= 70% of their area is inside it); train on the train +
# validation patches; at test time patch detections are shifted back and
# merged per image by class-aware rotated NMS (IoU 0.1) in
# skysense_mm.FAIR1MMetric. Validation mAP: full images against the
# official validation labelXml, MMRotate's DOTA mAP (IoU 0.5, VOC07
# 11-point AP). The test split has no public labels: `tools/test.py CONFIG
# CKPT --out results.zip` writes the official submission (one XML per test
# image, <possibleresult><name>/<probability>, 5 points).
#
# Data (official FAIR1M 2.0 release in data/FAIR1M):
#   python tools/dataset_converters/fair1m_split.py \
#       data/FAIR1M/train/part1/images data/FAIR1M/split_ss/train \
#       --ann-dir data/FAIR1M/train/part1/labelXml      (same for part2)
#   python tools/dataset_converters/fair1m_split.py \
#       data/FAIR1M/validation/images data/FAIR1M/split_ss/val \
#       --ann-dir data/FAIR1M/validation/labelXml
#   python tools/dataset_converters/fair1m_split.py \
#       data/FAIR1M/test/images data/FAIR1M/split_ss/test
# Weights: convert the official release with
# tools/model_converters/skysense_official2mm.py and set
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...,
# prefix='backbone_hr.') or load_from.

# model (Oriented R-CNN le90 FPN on Swin-V2-H) and schedule (AdamW 1e-4,
# 12 epochs):
_base_ = [
    '../../../_base_/det/skysense_swinv2-huge_oriented-rcnn-le90_fpn_adamw-12e.py'
]

data_root = 'data/FAIR1M/'
img_scale = (1024, 1024)
num_classes = 37

model = dict(
    backbone=dict(img_size=img_scale[0]),
    roi_head=dict(bbox_head=dict(num_classes=num_classes)))

train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.75,
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs'),
]
val_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    # after Resize: ground truth stays in patch coordinates
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
test_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
dataset_type = 'skysense_mm.FAIR1MDataset'
split_root = data_root + 'split_ss/'
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(type=dataset_type, data_root=split_root + split,
                 ann_file='annfiles', data_prefix=dict(img_path='images'),
                 img_shape=img_scale, filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline) for split in ('train', 'val')
        ]))
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=split_root + 'val',
        ann_file='annfiles', data_prefix=dict(img_path='images'),
        img_shape=img_scale, test_mode=True, pipeline=val_pipeline))
test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=split_root + 'test',
        ann_file='', data_prefix=dict(img_path='images'), img_suffix='png',
        test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(
    _delete_=True, type='skysense_mm.FAIR1MMetric', metric='mAP',
    iou_thrs=0.5, eval_mode='11points', merge_patches=True, iou_thr=0.1,
    ann_dir=data_root + 'validation/labelXml')
# no labels: only the submission (tools/test.py --out DIR or DIR.zip)
test_evaluator = dict(
    _delete_=True, type='skysense_mm.FAIR1MMetric', metric='mAP',
    iou_thrs=0.5, eval_mode='11points', merge_patches=True, iou_thr=0.1,
    ann_dir=None)
