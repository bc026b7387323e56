"""tools/dist_train.sh on CPU: 2 gloo processes with batch B train the same
weights as 1 process with batch 2B (DDP averages the gradients)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from conftest import ROOT

CONFIG = osp.join(ROOT, 'tests', 'data', 'configs', 'demo_ddp_equivalence.py')


def _opts(data_root, batch):
    return ['--cfg-options', f'train_dataloader.batch_size={batch}',
            f'train_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}']


def _state(work_dir):
    import skysense_mm  # noqa: F401  (safe loading of mmengine checkpoints)
    return torch.load(osp.join(work_dir, 'iter_3.pth'))['state_dict']


@pytest.fixture(scope='module')
def single_run(demo_data_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('single'))
    res = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG,
         '--work-dir', work_dir, *_opts(demo_data_root, 4)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    return work_dir


def test_two_gloo_processes_match_one_with_double_batch(
        single_run, demo_data_root, tmp_path):
    work_dir = str(tmp_path / 'ddp')
    env = dict(os.environ, PYTHON=sys.executable, PORT='29517')
    res = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), CONFIG, '2',
         '--work-dir', work_dir, *_opts(demo_data_root, 2)],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    ddp, single = _state(work_dir), _state(single_run)
    assert ddp.keys() == single.keys()
    for key in single:
        diff = (ddp[key].float() - single[key].float()).abs().max().item()
        # 3 SGD steps in fp32; gradients agree to ~1e-7 per step
        assert diff < 1e-5, (key, diff)
    # and training moved the weights (the comparison is not vacuous)


def test_cpu_distributed_launch_bug_without_compat(demo_data_root, tmp_path):
    code = ('import os, torch\n'
            "os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', "
            "MASTER_ADDR='127.0.0.1', MASTER_PORT='29518')\n"
            'from mmengine.dist import init_dist\n'
            "init_dist('pytorch', backend='gloo')\n"
            'print(torch.distributed.get_world_size())\n')
    bug = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert bug.returncode != 0
    assert 'NVIDIA driver' in bug.stderr or 'CUDA' in bug.stderr
    fixed = subprocess.run(
        [sys.executable, '-c', 'import skysense_mm\n' + code],
        capture_output=True, text=True, timeout=300)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert fixed.stdout.strip() == '1'
