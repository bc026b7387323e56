# SkySense pre-training (https://arxiv.org/abs/2312.10115) at the paper's
# size with FSDP (mmengine FlexibleRunner + FSDPStrategy): student, teacher,
# gradients and optimizer states are sharded over the GPUs. Same model, data
# and schedule as skysense_paper_pretrain.py. See docs/pretrain.md.
#
#   NNODES=10 NODE_RANK=<i> MASTER_ADDR=<host> \
#     bash tools/dist_train.sh \
#     configs/pretrain/skysense_paper_pretrain_fsdp.py 8
#
# Units (skysense_pretrain_wrap_policy): every transformer layer (Swin-V2
# blocks, ViT / fusion encoder layers) and every DINO projection head, of
# student and teacher alike, so a student layer and its teacher layer have
# the same flat layout and each rank holds matching slices; TeacherEMAHook
# updates them locally and gathers only the root unit (patch embeddings,
# patch merging, norms, lifts, L_align projections). use_orig_params=True is
# required by the hook (and keeps mmengine's parameter-wise optimizer
# settings working). Geo-context prototypes and L_CL centres are buffers:
# replicated, never sharded, kept identical by the all-gather / all-reduce
# of their updates.
_base_ = ['./skysense_paper_pretrain.py']

runner_type = 'FlexibleRunner'
strategy = dict(
    # mmengine's FSDPStrategy with the optimizer-state loading of --resume
    # fixed for torch >= 2.1 (skysense_mm/models/selfsup/fsdp.py)
    type='ResumableFSDPStrategy',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        auto_wrap_policy=dict(type='skysense_pretrain_wrap_policy'),
        sharding_strategy='FULL_SHARD',
        use_orig_params=True,
        # gradient checkpointing is done by the encoders (with_cp=True)
        mixed_precision=dict(
            param_dtype='bfloat16',
            reduce_dtype='float32',
            buffer_dtype='float32')),
    # full (unsharded) checkpoints on rank 0: they load downstream with
    # prefix='teacher.backbone.' like the DDP ones
    state_dict_cfg='full')
# FSDP mixed precision replaces autocast; the optimizer works in fp32.
# mmengine's OptimWrapper would clip each rank's shard with its own partial
# norm: ShardedGradClipOptimWrapper all-reduces the norm first.
optim_wrapper = dict(
    _delete_=True,
    type='ShardedGradClipOptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4 * 240 / 256, weight_decay=0.04),
    clip_grad=dict(max_norm=3.0))
# FlexibleRunner takes the wrapper from `strategy`
model_wrapper_cfg = None
