"""The whole OpenMMLab stack imports in one process, at the pinned versions."""
import os.path as osp
import subprocess
import sys

from conftest import ROOT


def pinned_versions():
    pins = {}
    with open(osp.join(ROOT, 'requirements', 'constraints.txt')) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if '==' in line:
                name, ver = line.split('==')
                pins[name.strip()] = ver.strip()
    return pins


def test_stack_imports_together_at_pinned_versions():
    code = ('import json, torch, torchvision, mmengine, mmcv, mmcv.ops, mmdet, '
            'mmseg, mmpretrain, skysense_mm, mmrotate, mmdet.models, '
            'mmseg.models, mmpretrain.models, mmrotate.models\n'
            'from importlib.metadata import version\n'
            'print(json.dumps({n: version(n) for n in ["torch", "torchvision", '
            '"mmengine", "mmcv", "mmdet", "mmsegmentation", "mmrotate", '
            '"mmpretrain"]}))')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    import json
    got = json.loads(res.stdout.strip().splitlines()[-1])
    pins = pinned_versions()
    for name, ver in got.items():
        assert ver.split('+')[0] == pins[name], (name, ver, pins[name])
