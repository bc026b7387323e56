"""Each workaround in skysense_mm/utils/compat.py: first the upstream bug
(in a fresh interpreter without skysense_mm), then the fix."""
import io
import os.path as osp
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch


def run_py(code, cwd=None):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_mmrotate_collections_sequence_bug_and_fix():
    bug = run_py('import mmrotate.models')
    assert bug.returncode != 0
    assert "cannot import name 'Sequence' from 'collections'" in bug.stderr
    fixed = run_py('import skysense_mm, mmrotate.models; '
                   'print(mmrotate.models.OrientedRPNHead.__name__)')
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip() == 'OrientedRPNHead'


RUNNER_SNIPPET = '''
import torch, torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 1)
    def forward(self, x, y, mode='loss'):
        return dict(loss=((self.lin(x) - y) ** 2).mean())
data = [dict(x=torch.randn(2), y=torch.randn(1)) for _ in range(8)]
Runner(model=Toy(), work_dir={work_dir!r},
       train_dataloader=dict(dataset=data, batch_size=2,
           sampler=dict(type='DefaultSampler', shuffle=True),
           collate_fn=dict(type='default_collate')),
       optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
       train_cfg=dict(by_epoch=False, max_iters=2),
       default_hooks=dict(checkpoint=dict(type='CheckpointHook',
           interval=2, by_epoch=False)),
       randomness=dict(seed=0)).train()
'''


@pytest.fixture(scope='module')
def mmengine_ckpt(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('ckpt'))
    res = run_py(RUNNER_SNIPPET.format(work_dir=work_dir))
    assert res.returncode == 0, res.stderr
    return osp.join(work_dir, 'iter_2.pth')


def test_torch_load_of_mmengine_checkpoint_bug_and_fix(mmengine_ckpt):
    bug = run_py(f'import torch; torch.load({mmengine_ckpt!r})')
    assert bug.returncode != 0
    assert 'Weights only load failed' in bug.stderr
    # mmengine's own loader (used by --resume) hits the same wall
    bug = run_py('from mmengine.runner.checkpoint import _load_checkpoint; '
                 f'_load_checkpoint({mmengine_ckpt!r})')
    assert 'Weights only load failed' in bug.stderr

    import skysense_mm  # noqa: F401
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _load_checkpoint(mmengine_ckpt, map_location='cpu')
    assert set(ckpt) >= {'meta', 'state_dict', 'message_hub', 'optimizer'}
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and len(buf.data[0]) == 2


class _Evil:
    """getattr on an allow-listed class, for a name that is no statistic."""

    def __reduce__(self):
        import numpy as np
        return (getattr, (np.ndarray, 'tofile'))


class _EvilOs:

    def __reduce__(self):
        import os
        return (os.system, ('echo pwned',))


@pytest.mark.parametrize('payload', [_Evil(), _EvilOs()])
def test_safe_loading_still_refuses_other_objects(payload):
    import skysense_mm  # noqa: F401
    buf = io.BytesIO()
    torch.save({'x': payload}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buf)


def test_local_backend_put_truncates_on_failure_bug_and_fix(tmp_path):
    target = tmp_path / 'ckpt.pth'
    code = f'''
        from mmengine.fileio.backends import LocalBackend
        open({str(target)!r}, 'wb').write(b'previous checkpoint')
        try:
            LocalBackend().put(object(), {str(target)!r})  # write fails
        except TypeError:
            pass
        print(open({str(target)!r}, 'rb').read())
    '''
    bug = run_py(code)
    assert bug.returncode == 0, bug.stderr
    assert bug.stdout.strip() == "b''"  # the old checkpoint is gone

    fixed = run_py('import skysense_mm\n' + textwrap.dedent(code))
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip() == "b'previous checkpoint'"
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.pth']


def test_atomic_write_replaces_whole_file(tmp_path):
    from skysense_mm.utils.compat import atomic_write
    target = tmp_path / 'sub' / 'file.txt'
    atomic_write('one', target, 'w')
    atomic_write(b'two', target, 'wb')
    assert target.read_bytes() == b'two'
    assert [p.name for p in target.parent.iterdir()] == ['file.txt']


def test_patches_are_idempotent():
    from skysense_mm.utils import compat
    before = compat.mmengine_checkpoint_safe_globals()
    compat.apply_compat_patches()
    compat.apply_compat_patches()
    assert len(compat.mmengine_checkpoint_safe_globals()) == len(before)


def test_nms_rotated_labels_ignored_on_cpu_bug_and_fix():
    code = '''
        import torch
        from mmcv.ops import nms_rotated
        boxes = torch.tensor([[10., 10., 8., 4., 0.3], [10.2, 10.1, 8., 4., 0.32]])
        scores = torch.tensor([0.9, 0.8])
        _, keep = nms_rotated(boxes, scores, 0.5, labels=torch.tensor([0, 1]))
        print(keep.tolist())
    '''
    bug = run_py(code)
    assert bug.returncode == 0, bug.stderr
    assert bug.stdout.strip() == '[0]'  # the class-1 box was suppressed
    fixed = run_py('import skysense_mm\n' + textwrap.dedent(code))
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip() == '[0, 1]'

    import skysense_mm  # noqa: F401
    from mmcv.ops import nms_rotated
    boxes = torch.tensor([[10., 10., 8., 4., 0.3], [10.2, 10.1, 8., 4., 0.32],
                          [30., 30., 6., 6., 0.], [30.1, 30., 6., 6., 0.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    dets, keep = nms_rotated(boxes, scores, 0.5,
                             labels=torch.tensor([0, 1, 1, 1]))
    assert keep.tolist() == [3, 0, 1]  # by score; 2 loses to 3 (same class)
    assert torch.equal(dets[:, :5], boxes[keep])
    assert torch.equal(dets[:, 5], scores[keep])


def test_mmrotate_map_spawns_processes_bug_and_fix():
    """mmrotate's ``eval_rbbox_map`` always starts spawn processes (each
    re-imports torch); with skysense_mm imported it runs in-process and gives
    the hand-computed mAP (1 TP of 2 ground truths, then 1 FP: AP 0.5)."""
    code = '''
        import multiprocessing.context as ctx
        import numpy as np

        class Spawned(Exception):
            pass

        def start(self):
            raise Spawned()

        ctx.SpawnProcess.start = start
        {imports}
        from mmrotate.evaluation.functional import eval_rbbox_map
        dets = [[np.array([[50., 50., 20., 10., 0.1, 0.9],
                           [150., 150., 20., 10., 0., 0.8]], np.float32)]]
        anns = [dict(bboxes=np.array([[50., 50., 20., 10., 0.1],
                                      [90., 20., 10., 10., 0.]], np.float32),
                     labels=np.array([0, 0]),
                     bboxes_ignore=np.zeros((0, 5), np.float32),
                     labels_ignore=np.zeros(0, np.int64))]
        try:
            m, _ = eval_rbbox_map(dets, anns, iou_thr=0.5, use_07_metric=False,
                                  logger='silent')
            print('in-process', round(float(m), 4))
        except Spawned:
            print('spawned')
    '''
    bug = run_py(code.format(imports=''))
    assert bug.returncode == 0, bug.stderr
    assert bug.stdout.strip() == 'spawned'
    fixed = run_py(code.format(imports='import skysense_mm'))
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip() == 'in-process 0.5'
