"""tools/analysis_tools/count_params.py (issue 3, item 5)."""
import os.path as osp
import re
import subprocess
import sys

from skysense_mm.models.utils.meta_build import build_model_on_meta
from skysense_mm.models.utils.official_ckpt import is_rebuilt_buffer

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'count_params.py')
CFG_DIR = osp.join(ROOT, 'configs', '_base_', 'models')


def run_tool(*args):
    proc = subprocess.run([sys.executable, TOOL, *args],
                          capture_output=True,
                          text=True,
                          cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    match = re.fullmatch(r'total_params=(\d+)', lines[-1])
    assert match, lines[-1]
    return int(match.group(1)), proc.stdout


def expected_total(model):
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers()
                  if not is_rebuilt_buffer(n))
    return params + buffers


def test_tiny_config_exact():
    cfg = osp.join(CFG_DIR, 'skysense_tiny.py')
    total, out = run_tool(cfg, '--depth', '2')
    model = build_model_on_meta(cfg)
    assert all(p.is_meta for p in model.parameters())
    assert total == expected_total(model)
    # every top-level child has a row, the prototypes are counted
    for name, child in model.named_children():
        assert re.search(rf'^{name}\s', out, re.M), name
    if hasattr(model, 'geo_prototypes'):
        protos = model.geo_prototypes.prototypes.numel()
        assert protos > 0
        assert total == sum(p.numel() for p in model.parameters()) + \
            protos + sum(b.numel() for n, b in model.named_buffers()
                         if not is_rebuilt_buffer(n)
                         and not n.endswith('prototypes'))


def test_paper_config_size():
    total, out = run_tool(osp.join(CFG_DIR, 'skysense_paper.py'))
    assert abs(total - 2.06e9) / 2.06e9 < 0.02, total
    assert 'geo_prototypes' in out
