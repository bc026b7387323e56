"""`make demo` of SkySense pre-training (https://arxiv.org/abs/2312.10115):
tools/demo/run_pretrain_demo.py --quick end to end, and the downstream
config's loading of the pre-training TEACHER's encoder."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import skysense_mm  # noqa: F401  (safe loading of mmengine checkpoints)

from conftest import ROOT, TOOLS

FINETUNE_CONFIG = osp.join(ROOT, 'configs', 'demo',
                           'skysense_tiny_upernet_demo-world.py')
TEACHER = 'teacher.backbone.'


def state_dict(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return ckpt['state_dict']


def backbone_state(path, prefix):
    """Float tensors under ``prefix`` with the prefix stripped."""
    return {
        k[len(prefix):]: v
        for k, v in state_dict(path).items()
        if k.startswith(prefix) and v.is_floating_point()
    }


@pytest.fixture(scope='module')
def quick_demo(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('pretrain_demo'))
    res = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'demo', 'run_pretrain_demo.py'),
         '--quick', '--work-dir', work_dir],
        capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return work_dir, res.stdout


def test_quick_demo_last_line(quick_demo):
    _, stdout = quick_demo
    last = stdout.strip().splitlines()[-1]
    m = re.fullmatch(r'pretrained=(\d+\.\d\d) random_init=(\d+\.\d\d)', last)
    assert m, last
    assert all(0.0 <= float(v) <= 100.0 for v in m.groups())


def test_quick_demo_finetune_started_from_teacher(quick_demo):
    """The pre-trained run's (frozen) encoder is exactly the teacher's; the
    random-init one is far from it."""
    work_dir, _ = quick_demo
    teacher = backbone_state(osp.join(work_dir, 'pretrain', 'iter_2.pth'),
                             TEACHER)
    runs = {
        name: backbone_state(
            osp.join(work_dir, f'finetune_{name}', 'iter_2.pth'),
            'backbone.')
        for name in ('pretrained', 'random_init')
    }
    for state in runs.values():
        assert state and set(state) <= set(teacher), \
            sorted(set(state) - set(teacher))[:5]
    # the HR encoder only: S2/S1/fusion keys of the checkpoint are not used
    assert all(k.startswith('backbone_hr.') for k in runs['pretrained'])

    def dist(a, b):
        return max((a[k] - b[k]).abs().max().item() for k in a)

    d_pre = dist(runs['pretrained'], teacher)
    d_rand = dist(runs['random_init'], teacher)
    assert d_pre == 0.0, d_pre  # frozen_stages=3: only the head trains
    assert d_rand > 3e-2, d_rand


def test_init_cfg_loads_every_backbone_key_from_teacher(quick_demo):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    work_dir, _ = quick_demo
    ckpt = osp.join(work_dir, 'pretrain', 'iter_2.pth')
    cfg = Config.fromfile(FINETUNE_CONFIG)
    assert 'init_cfg' not in cfg.model.backbone and cfg.load_from is None
    cfg.merge_from_dict({
        'model.backbone.init_cfg.type': 'Pretrained',
        'model.backbone.init_cfg.checkpoint': ckpt,
        'model.backbone.init_cfg.prefix': TEACHER,
    })
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    source = state_dict(ckpt)
    loaded = model.backbone.state_dict()
    missing = [k for k in loaded if TEACHER + k not in source]
    assert not missing, missing
    differ = [k for k in loaded if not torch.equal(loaded[k],
                                                   source[TEACHER + k])]
    assert not differ, differ
    # the teacher's weights, not the student's (they differ after 2 steps)
    from_teacher = [
        k for k in loaded if loaded[k].is_floating_point()
        and not torch.equal(loaded[k], source['student.backbone.' + k])
    ]
    assert from_teacher
