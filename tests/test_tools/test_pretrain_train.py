"""SkySense pre-training (https://arxiv.org/abs/2312.10115) through
tools/train.py on a generated demo world: 3 iterations, the checkpoint
loads into a downstream SkySense, and --resume reproduces the losses
exactly on CPU (RNGStateHook), also with 2 dataloader workers (not
persistent): mmengine seeds each worker from seed + rank and worker id, the
InfiniteSampler restarts from its seed, and the IterBasedTrainLoop replays
the already-trained batches through the same workers after a resume, so the
workers' random streams reach the same point as in the uninterrupted run."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import skysense_mm  # noqa: F401  (safe loading of mmengine checkpoints)

from conftest import ROOT, TOOLS

CONFIG = osp.join(ROOT, 'configs', 'pretrain',
                  'skysense_tiny_pretrain_demo.py')
TINY = osp.join(ROOT, 'configs', '_base_', 'models', 'skysense_tiny.py')


WORKERS = ['train_dataloader.num_workers=2',
           'train_dataloader.persistent_workers=False']


def start_train(work_dir, data_root, *extra, opts_extra=()):
    """Start tools/train.py (3 iterations) in a subprocess."""
    opts = [
        *opts_extra, f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.ann_file=splits/all.txt',
        'train_dataloader.batch_size=2', 'train_cfg.max_iters=3',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=3',
        'default_hooks.logger.interval=1', 'max_iters=3'
    ]
    return subprocess.Popen(
        [sys.executable, osp.join(TOOLS, 'train.py'), CONFIG, '--work-dir',
         work_dir, *extra, '--cfg-options', *opts],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=ROOT,
        # one thread: the tiny model gains nothing from more, and a busy
        # shared CPU makes OpenMP spin-waiting very slow
        env=dict(os.environ, OMP_NUM_THREADS='1'))


def wait_all(*procs):
    """Wait for the runs (started together: 2 cores) and check them."""
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-6000:]


def run_train(work_dir, data_root, *extra, opts_extra=()):
    wait_all(start_train(work_dir, data_root, *extra, opts_extra=opts_extra))


def logged(work_dir):
    """{iteration: every logged loss term} from the scalars.json files."""
    out = {}
    for f in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(f) as fh:
            for line in fh:
                rec = json.loads(line)
                if 'loss' in rec:
                    out[rec['step']] = {
                        k: v for k, v in rec.items() if k.startswith('loss')
                    }
    return out


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    sys.path.insert(0, osp.join(TOOLS, 'misc'))
    import make_demo_data
    root = str(tmp_path_factory.mktemp('pretrain_world'))
    return make_demo_data.generate(root, num_samples=4, hr_size=128)


@pytest.fixture(scope='module')
def full_runs(world, tmp_path_factory):
    """Uninterrupted runs: (num_workers=0, num_workers=2), in parallel."""
    dirs = (str(tmp_path_factory.mktemp('pretrain_full')),
            str(tmp_path_factory.mktemp('pretrain_full_workers')))
    wait_all(start_train(dirs[0], world),
             start_train(dirs[1], world, opts_extra=WORKERS))
    return dirs


@pytest.fixture(scope='module')
def full_run(full_runs):
    return full_runs[0]


def test_three_iterations_and_checkpoint_loads_downstream(full_run):
    terms = logged(full_run)
    assert sorted(terms) == [1, 2, 3]
    for it, vals in terms.items():
        for name in ('loss_pix_hr', 'loss_obj_s2', 'loss_img_s1',
                     'loss_pix_fused', 'loss_align'):
            assert name in vals and vals[name] == vals[name], (it, name)
    ckpt = torch.load(osp.join(full_run, 'iter_3.pth'), weights_only=True)
    state = ckpt['state_dict']
    assert 'rng_state' in ckpt and 'optimizer' in ckpt
    assert any(k.startswith('student.') for k in state)
    # the downstream encoder takes the teacher's weights, prototypes included
    from skysense_mm.registry import MODELS
    model = MODELS.build(Config.fromfile(TINY).model)
    teacher = {
        k[len('teacher.backbone.'):]: v
        for k, v in state.items() if k.startswith('teacher.backbone.')
    }
    missing, unexpected = model.load_state_dict(teacher, strict=False)
    assert not unexpected
    assert all('relative_coords_table' in k or 'relative_position_index' in k
               for k in missing), missing
    assert torch.equal(model.geo_prototypes.prototypes,
                       state['student.backbone.geo_prototypes.prototypes'])


def test_resume_reproduces_losses_exactly(full_runs, world, tmp_path):
    """--resume from iter 1, without and with 2 dataloader workers."""
    resumed = (str(tmp_path / 'resumed'), str(tmp_path / 'resumed_workers'))
    wait_all(
        start_train(resumed[0], world, '--resume',
                    osp.join(full_runs[0], 'iter_1.pth')),
        start_train(resumed[1], world, '--resume',
                    osp.join(full_runs[1], 'iter_1.pth'),
                    opts_extra=WORKERS))
    for full, work_dir in zip(full_runs, resumed):
        expected, got = logged(full), logged(work_dir)
        assert sorted(got) == [2, 3]
        for it in (2, 3):
            assert got[it] == expected[it], (work_dir, it)
    # the workers draw other augmentations than the main process: the
    # second comparison is between runs that really used the workers
    assert logged(full_runs[0])[2] != logged(full_runs[1])[2]
