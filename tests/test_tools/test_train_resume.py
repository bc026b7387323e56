"""tools/train.py + tools/test.py end to end on the generated demo data:
an interrupted run resumed with --resume reproduces the uninterrupted one."""
import glob
import json
import os.path as osp
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

CONFIG = osp.join(ROOT, 'configs', 'demo',
                  'skysense_swinv2-tiny_upernet_demo-64x64.py')


def run_tool(tool, *args):
    res = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', tool), *args],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def common_opts(data_root):
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_cfg.max_iters=6', 'train_cfg.val_interval=6',
        'train_dataloader.batch_size=4',
        'default_hooks.checkpoint.interval=3',
        'default_hooks.logger.interval=1'
    ]


def losses(work_dir):
    """{iteration: loss} from every scalars.json of a work dir."""
    out = {}
    for f in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(f) as fh:
            for line in fh:
                rec = json.loads(line)
                if 'loss' in rec:
                    out[rec['step']] = rec['loss']
    return out


@pytest.fixture(scope='module')
def full_run(demo_data_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('full'))
    run_tool('train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
             *common_opts(demo_data_root))
    return work_dir


def test_uninterrupted_run_writes_checkpoints(full_run):
    assert osp.isfile(osp.join(full_run, 'iter_3.pth'))
    assert osp.isfile(osp.join(full_run, 'iter_6.pth'))
    with open(osp.join(full_run, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('iter_6.pth')
    assert sorted(losses(full_run)) == [1, 2, 3, 4, 5, 6]
    assert not glob.glob(osp.join(full_run, '.*.tmp'))  # atomic writes


@pytest.mark.parametrize('mode', ['auto', 'path'])
def test_resume_reproduces_losses(full_run, demo_data_root, tmp_path, mode):
    work_dir = str(tmp_path / 'resumed')
    ckpt = osp.join(full_run, 'iter_3.pth')
    if mode == 'auto':
        os.makedirs(work_dir)
        shutil.copy(ckpt, work_dir)
        with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
            f.write(osp.join(work_dir, 'iter_3.pth'))
        resume = ['--resume']
    else:
        resume = ['--resume', ckpt]
    run_tool('train.py', CONFIG, '--work-dir', work_dir, *resume,
             '--cfg-options', *common_opts(demo_data_root))
    expected, got = losses(full_run), losses(work_dir)
    assert sorted(got) == [4, 5, 6]
    for it in (4, 5, 6):
        assert got[it] == pytest.approx(expected[it], rel=1e-5, abs=1e-6)


def test_resume_from_missing_file_is_a_clear_error(demo_data_root, tmp_path):
    res = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG,
         '--work-dir', str(tmp_path), '--resume', str(tmp_path / 'nope.pth')],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode != 0
    assert 'nope.pth' in res.stderr and 'Traceback' not in res.stderr


def test_test_tool_dumps_predictions_and_draws(full_run, demo_data_root,
                                               tmp_path):
    import pickle
    out = str(tmp_path / 'preds.pkl')
    show = str(tmp_path / 'vis')
    res = run_tool('test.py', CONFIG, osp.join(full_run, 'iter_6.pth'),
                   '--work-dir', str(tmp_path), '--out', out, '--show-dir',
                   show, '--cfg-options',
                   f'test_dataloader.dataset.data_root={demo_data_root}')
    assert 'mIoU' in res.stdout + res.stderr
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 4  # the 4 val scenes
    assert preds[0]['pred_sem_seg']['data'].shape == (1, 64, 64)
    drawn = glob.glob(osp.join(show, '**', '*.png'), recursive=True)
    assert len(drawn) == 4


def test_print_config(demo_data_root):
    res = run_tool('misc/print_config.py', CONFIG, '--cfg-options',
                   'model.decode_head.channels=16')
    assert "type='skysense_mm.SkySenseSwinV2'" in res.stdout
    assert 'channels=16' in res.stdout


def test_test_tool_refuses_submission_without_writer(full_run, demo_data_root,
                                                     tmp_path):
    """``--out`` with a non-pickle path asks for a leaderboard writer; the
    demo segmentation config has none, so the tool says so and stops."""
    res = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py'), CONFIG,
         osp.join(full_run, 'iter_6.pth'), '--work-dir', str(tmp_path),
         '--out', str(tmp_path / 'submission.zip'), '--cfg-options',
         f'test_dataloader.dataset.data_root={demo_data_root}'],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode != 0
    assert 'writes a leaderboard submission' in res.stderr
    assert 'IoUMetric' in res.stderr
