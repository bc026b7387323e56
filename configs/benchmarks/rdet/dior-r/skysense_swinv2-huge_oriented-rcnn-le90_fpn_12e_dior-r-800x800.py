# SkySense (https://arxiv.org/abs/2312.10115) on DIOR-R, Tab. 2b: Oriented
# R-CNN (le90) with FPN on the SkySense HR encoder (Swin-V2-H), mAP 74.27
# (paper). The paper gives no DIOR-R schedule; it "follows [55] RingMo,
# [62]". Decided here: the DIOR settings of the paper (AdamW lr 1e-4, weight
# decay 0.05, 12 epochs, lr x0.1 after epochs 8 and 11), batch 2 per GPU x
# 8 GPUs, 500-iteration linear warm-up, 800x800 input (native size),
# horizontal / vertical / diagonal flips (MMRotate's DIOR config), no weight
# decay on norms / Swin-V2 position-bias and logit-scale parameters, drop
# path 0.2. Train on the official train + val lists (JPEGImages-trainval),
# test on the test list (JPEGImages-test). mAP = MMRotate DOTAMetric at IoU
# 0.5 with the VOC07 '11points' AP (its default, as in MMRotate's DIOR
# configs). The corners of <robndbox> are converted to le90 (cx, cy, w, h,
# theta) by skysense_mm.DIORRDataset (MMRotate qbox2rbox); rotated boxes may
# cross the image border (kept, counted).
#
# Data: the official release unpacked to data/DIOR ("Annotations/Oriented
# Bounding Boxes", JPEGImages-trainval, JPEGImages-test,
# ImageSets/Main/{train,val,test}.txt). Weights: see the DIOR config.

# model (Oriented R-CNN le90 FPN on Swin-V2-H) and schedule (AdamW 1e-4,
# 12 epochs):
_base_ = [
    '../../../_base_/det/skysense_swinv2-huge_oriented-rcnn-le90_fpn_adamw-12e.py'
]

data_root = 'data/DIOR/'
img_scale = (800, 800)
num_classes = 20

model = dict(
    backbone=dict(img_size=img_scale[0]),
    roi_head=dict(bbox_head=dict(num_classes=num_classes)))

train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='rbox'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.75,
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs'),
]
test_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    # after Resize: ground truth stays in original image coordinates
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='rbox'),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
dataset_type = 'skysense_mm.DIORRDataset'
ann_path = 'Annotations/Oriented Bounding Boxes'
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
            dict(type=dataset_type, data_root=data_root,
                 ann_file='ImageSets/Main/train.txt',
                 data_prefix=dict(img_path='JPEGImages-trainval',
                                  ann_path=ann_path),
                 filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline),
            dict(type=dataset_type, data_root=data_root,
                 ann_file='ImageSets/Main/val.txt',
                 data_prefix=dict(img_path='JPEGImages-trainval',
                                  ann_path=ann_path),
                 filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline),
        ]))
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='ImageSets/Main/test.txt',
        data_prefix=dict(img_path='JPEGImages-test', ann_path=ann_path),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='DOTAMetric', metric='mAP',
                     iou_thrs=0.5, eval_mode='11points')
test_evaluator = val_evaluator
