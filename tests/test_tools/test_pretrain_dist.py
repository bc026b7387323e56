"""SkySense pre-training (https://arxiv.org/abs/2312.10115) with
tools/dist_train.sh on CPU: 2 gloo processes with batch 2 give the same
logged losses, student, teacher and geo-context prototypes as 1 process with
batch 4, and the teacher and the prototypes are identical on both ranks; the
same holds for 2 FSDP processes (FlexibleRunner + FSDPStrategy, the wrapper
of the paper-size FSDP config, with the CPU as compute device).

The demo world is generated (tools/misc/make_demo_data.py) with 4 S2 and 4
S1 dates per sample. The pipeline is made deterministic (full-image crops,
no flip/rotation/colour/blur/solarize/date jitter, all 4 dates kept) and
drop path is off: with random augmentations each run would draw different
views (the random stream of one process with 4 samples is not the streams
of two processes with 2), and the comparison would test the data, not the
data-parallel algorithm. Every loss term then has the same number of rows on
each rank, so the mean over ranks of the per-rank losses (what DDP's
gradient averaging and the model's logged values use) is the loss of the
whole batch; the prototype update all-gathers the fused features and the
L_CL centres all-reduce their sums, so those are exact too.

The test trains with SGD (lr 1, momentum 0.9; linear in the gradient, so
float noise is not amplified as by Adam on near-zero gradients) and a
teacher momentum of 0.9, so that 3 iterations move the compared tensors by
1e-2 to 2. Tolerance (fp32, float sums in a different order): logged losses
1e-5 relative (measured: at most 2e-7), every entry of the state dict
(student, teacher, prototypes, L_CL centres) 1e-5 absolute (measured: at
most 1.8e-6, DDP and FSDP); across the two ranks: bit-identical.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

import skysense_mm  # noqa: F401  (safe loading of mmengine checkpoints)

from conftest import ROOT, TOOLS

BASE = osp.join(ROOT, 'configs', 'pretrain', 'skysense_tiny_pretrain_demo.py')

HELPERS = '''
import os.path as osp
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import MMFullyShardedDataParallel, is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS
from torch.distributed.fsdp import FullyShardedDataParallel
from skysense_mm.models.selfsup import SkySensePretrain
from skysense_mm.registry import HOOKS, MODELS


@HOOKS.register_module()
class DumpRankState(Hook):
    """Each rank saves its model state at the start and the end (under
    FSDP the buffers only: prototypes and centres are never sharded)."""

    def _dump(self, runner, tag):
        model = runner.model
        fsdp = isinstance(model, FullyShardedDataParallel)
        if is_model_wrapper(model):
            model = model.module
        items = model.named_buffers() if fsdp else model.state_dict().items()
        state = {k.replace('_fsdp_wrapped_module.', ''): v.detach().clone()
                 for k, v in items}
        torch.save(state,
                   osp.join(runner.work_dir, f'rank{get_rank()}{tag}.pth'))

    def before_train(self, runner):
        self._dump(runner, '_init')

    def after_train(self, runner):
        self._dump(runner, '')


@MODELS.register_module()
class SeededSkySensePretrain(SkySensePretrain):
    """Same initial weights whenever the runner builds and initialises the
    model (FlexibleRunner does both later than Runner, after other draws
    from the global RNG)."""

    def __init__(self, **kwargs):
        torch.manual_seed(0)
        super().__init__(**kwargs)

    def init_weights(self):
        torch.manual_seed(1)
        super().init_weights()


@MODEL_WRAPPERS.register_module()
class CPUFullyShardedDataParallel(MMFullyShardedDataParallel):
    """mmengine's FSDP wrapper computing on the CPU (FSDPStrategy passes
    the CUDA device LOCAL_RANK; gloo needs the CPU)."""

    def __init__(self, module, **kwargs):
        kwargs['device_id'] = torch.device('cpu')
        super().__init__(module=module, **kwargs)
'''

FSDP = '''
runner_type = 'FlexibleRunner'
strategy = dict(
    type='ResumableFSDPStrategy',
    model_wrapper=dict(
        type='CPUFullyShardedDataParallel',
        auto_wrap_policy=dict(type='skysense_pretrain_wrap_policy'),
        use_orig_params=True),
    state_dict_cfg='full')
model_wrapper_cfg = None
# clip with the norm over all ranks, not each rank's shard
optim_wrapper = dict(
    type='ShardedGradClipOptimWrapper',
    optimizer=dict(_delete_=True, type='SGD', lr=1.0, momentum=0.9))
'''

CONFIG = '''
_base_ = [{base!r}]
custom_imports = dict(imports=['skysense_mm', 'dist_test_helpers'],
                      allow_failed_imports=False)
data_root = {root!r}
model = dict(type='SeededSkySensePretrain', backbone=dict(
    backbone_hr=dict(drop_path_rate=0.),
    backbone_s2=dict(drop_path_rate=0.),
    backbone_s1=dict(drop_path_rate=0.),
    fusion_neck=dict(drop_path_rate=0.)))
train_pipeline = [
    dict(type='LoadSkySensePretrainSample', min_s2_dates=1, min_s1_dates=0),
    dict(type='MultiViewCrop', global_size=128, local_size=64, num_local=1,
         global_scale=(1., 1.), local_scale=(1., 1.), ratio=(1., 1.)),
    dict(type='RandomViewFlipRotate', flip_prob=0., rot90_choices=(0, )),
    dict(type='RandomSubsequence', length=4),
    dict(type='PackSkySensePretrainInputs', with_pixel_valid=True),
]
train_dataloader = dict(
    batch_size={batch},
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
max_iters = 3
train_cfg = dict(max_iters=3)
# SGD (linear in the gradient: float noise is not amplified as by Adam's
# normalisation of near-zero gradients), large steps and a fast teacher, so
# that 3 iterations move the compared tensors far more than the tolerance
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=1.0, momentum=0.9))
param_scheduler = []
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=3))
custom_hooks = [
    dict(type='TeacherEMAHook', base_momentum=0.9, final_momentum=0.9),
    dict(type='RNGStateHook'),
    dict(type='DumpRankState'),
]
'''


def _write_config(tmp, world, batch, extra=''):
    with open(osp.join(tmp, 'dist_test_helpers.py'), 'w') as f:
        f.write(HELPERS)
    path = osp.join(tmp, f'pretrain_b{batch}{"_fsdp" if extra else ""}.py')
    with open(path, 'w') as f:
        f.write(CONFIG.format(base=BASE, root=world, batch=batch) + extra)
    return path


def _env(tmp, port='29527'):
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable,
                PORT=port,
                PYTHONPATH=os.pathsep.join(
                    [str(tmp), ROOT, os.environ.get('PYTHONPATH', '')]))


def _logged(work_dir):
    out = {}
    for f in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(f) as fh:
            for line in fh:
                rec = json.loads(line)
                if 'loss' in rec:
                    # every loss term and the (clipped-over) gradient norm
                    out[rec['step']] = {
                        k: v
                        for k, v in rec.items()
                        if k.startswith('loss') or k == 'grad_norm'
                    }
    return out


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    sys.path.insert(0, osp.join(TOOLS, 'misc'))
    import make_demo_data
    root = str(tmp_path_factory.mktemp('dist_world'))
    return make_demo_data.generate(root, num_samples=8, hr_size=128,
                                   num_s2=4, num_s1=4)


@pytest.fixture(scope='module')
def runs(world, tmp_path_factory):
    """Work dirs of 1 process, 2 DDP processes, 2 FSDP processes."""
    tmp = tmp_path_factory.mktemp('dist_cfg')
    single, ddp, fsdp = (str(tmp / 'single'), str(tmp / 'ddp'),
                         str(tmp / 'fsdp'))
    procs = [
        subprocess.Popen(
            [sys.executable, osp.join(TOOLS, 'train.py'),
             _write_config(str(tmp), world, 4), '--work-dir', single],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=ROOT, env=_env(tmp)),
        subprocess.Popen(
            ['bash', osp.join(TOOLS, 'dist_train.sh'),
             _write_config(str(tmp), world, 2), '2', '--work-dir', ddp],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=ROOT, env=_env(tmp)),
        subprocess.Popen(
            ['bash', osp.join(TOOLS, 'dist_train.sh'),
             _write_config(str(tmp), world, 2, FSDP), '2', '--work-dir',
             fsdp],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=ROOT, env=_env(tmp, '29528')),
    ]
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out[-4000:]
    return single, ddp, fsdp


def test_two_processes_log_the_losses_of_one_with_double_batch(runs):
    single, ddp, fsdp = map(_logged, runs)
    assert sorted(single) == sorted(ddp) == sorted(fsdp) == [1, 2, 3]
    for it in (1, 2, 3):
        assert {'loss_pix_hr', 'loss_obj_s2', 'loss_img_fused',
                'loss_align', 'grad_norm'} <= set(single[it])
        for run in (ddp, fsdp):
            assert single[it].keys() == run[it].keys()
            for k, v in single[it].items():
                assert run[it][k] == pytest.approx(v, rel=1e-5,
                                                   abs=1e-7), (it, k)


def test_teacher_and_prototypes_identical_across_ranks_and_match(runs):
    single_dir, ddp_dir, _ = runs

    def load(d, name):
        return torch.load(osp.join(d, name), weights_only=True)

    rank0, rank1 = load(ddp_dir, 'rank0.pth'), load(ddp_dir, 'rank1.pth')
    single = load(single_dir, 'rank0.pth')
    init = load(ddp_dir, 'rank1_init.pth')
    ckpt = load(ddp_dir, 'iter_3.pth')['state_dict']
    assert rank0.keys() == rank1.keys() == single.keys() == init.keys()
    assert any(k.startswith('teacher.') for k in rank0)
    for key in rank0:
        # every rank holds the same model: bit-identical
        assert torch.equal(rank0[key], rank1[key]), key
        assert torch.equal(ckpt[key], rank0[key]), key
        diff = (rank0[key].float() - single[key].float()).abs().max().item()
        assert diff < 1e-5, (key, diff)
    # not vacuous: prototypes, teacher and centres moved during training
    proto = 'student.backbone.geo_prototypes.prototypes'
    teacher = 'teacher.backbone.backbone_hr.patch_embed.projection.weight'
    for key in (proto, 'teacher.backbone.geo_prototypes.prototypes', teacher,
                'cl_losses.pix_hr.center'):
        assert (rank1[key] - init[key]).abs().max() > 1e-3, key
    assert not torch.equal(rank1[teacher],
                           rank1[teacher.replace('teacher.', 'student.')])


def test_fsdp_matches_one_process(runs):
    """FlexibleRunner + FSDPStrategy (skysense_pretrain_wrap_policy, the
    wrapper of configs/pretrain/skysense_paper_pretrain_fsdp.py) on 2 CPU
    processes: the full checkpoint equals the 1-process state and the
    unsharded buffers (prototypes, L_CL centres) agree on both ranks."""
    single_dir, _, fsdp_dir = runs

    def load(name):
        return torch.load(osp.join(fsdp_dir, name), weights_only=True)

    single = torch.load(osp.join(single_dir, 'rank0.pth'), weights_only=True)
    ckpt = load('iter_3.pth')
    assert 'rng_state' in ckpt and 'optimizer' in ckpt
    state = ckpt['state_dict']
    assert state.keys() == single.keys()
    for key in single:
        diff = (state[key].float() - single[key].float()).abs().max().item()
        assert diff < 1e-5, (key, diff)
    rank0, rank1 = load('rank0.pth'), load('rank1.pth')
    proto = 'student.backbone.geo_prototypes.prototypes'
    assert proto in rank0 and 'cl_losses.img_s1.center' in rank0
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    assert (rank1[proto] - load('rank1_init.pth')[proto]).abs().max() > 1e-3
