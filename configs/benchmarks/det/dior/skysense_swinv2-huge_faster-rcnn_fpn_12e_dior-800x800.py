# SkySense (https://arxiv.org/abs/2312.10115) on DIOR, Tab. 2b: Faster R-CNN
# with FPN on the SkySense HR encoder (Swin-V2-H), mAP50 78.73 (paper).
# Paper settings: AdamW lr 1e-4, weight decay 0.05, 12 epochs, lr x0.1 after
# epochs 8 and 11. Protocol "following [55] RingMo, [62]": train on the
# official train + val lists (JPEGImages-trainval), test on the official test
# list (JPEGImages-test), 800x800 input (the native size).
# Decided here (not in the paper): batch 2 per GPU x 8 GPUs, 500-iteration
# linear warm-up, horizontal flip, no weight decay on norms / Swin-V2
# position-bias and logit-scale parameters, drop path 0.2; boxes are read as
# written in the XML (no VOC minus-one) and clipped to the image (counted,
# see skysense_mm.DIORDataset); mAP50 = mmdet VOCMetric at IoU 0.5 with the
# VOC07 '11points' AP (the PASCAL VOC evaluation of the DIOR paper and of
# MMRotate's DIOR configs; set eval_mode='area' for the all-points AP).
#
# Data: the official release unpacked to data/DIOR (JPEGImages-trainval,
# JPEGImages-test, "Annotations/Horizontal Bounding Boxes",
# ImageSets/Main/{train,val,test}.txt). Weights: convert the official release
# with tools/model_converters/skysense_official2mm.py and set
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...,
# prefix='backbone_hr.') or load_from.

# model (Faster R-CNN FPN on Swin-V2-H) and schedule (AdamW 1e-4, 12 epochs):
_base_ = ['../../../_base_/det/skysense_swinv2-huge_faster-rcnn_fpn_adamw-12e.py']

data_root = 'data/DIOR/'
img_scale = (800, 800)
num_classes = 20

model = dict(
    backbone=dict(img_size=img_scale[0]),
    roi_head=dict(bbox_head=dict(num_classes=num_classes)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    # after Resize: ground truth stays in original image coordinates
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
dataset_type = 'skysense_mm.DIORDataset'
ann_path = 'Annotations/Horizontal Bounding Boxes'
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
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
val_evaluator = dict(type='VOCMetric', metric='mAP', iou_thrs=0.5,
                     eval_mode='11points')
test_evaluator = val_evaluator
