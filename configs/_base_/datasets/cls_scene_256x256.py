# Single-label RGB scene classification data (AID, NWPU-RESISC45) for the
# SkySense benchmark (https://arxiv.org/abs/2312.10115, Tab. 3), 256x256
# inputs (decided here, not in the paper: RESISC45's native size, and with
# Swin-V2 window 8 every stage map 64/32/16/8 is a whole number of windows;
# AID's 600x600 images are resized). Train: random resized crop (50-100% of
# the area) + horizontal/vertical flips; test: resize. The data set configs
# set `dataset_type`-specific fields (type, data_root, ann_file).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=256, crop_ratio_range=(0.5, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
# batch 8 per GPU x 8 GPUs = 64
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# overall accuracy (OA) = top-1 accuracy over all test images
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
