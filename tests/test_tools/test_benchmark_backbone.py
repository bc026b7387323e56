"""Smoke test of tools/analysis_tools/benchmark_backbone.py (issue 3, 7).

Speed is not asserted (shared CI cores); the output format, the parity of
our modules with the library modules and the memory columns are.
"""
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_backbone.py')
LAST = re.compile(r'speedup=(\d+\.\d+) max_abs_diff=(\S+)')


def run_tool(*args):
    proc = subprocess.run(
        [sys.executable, TOOL, '--size', 'tiny', '--device', 'cpu',
         '--iters', '1', '--warmup', '0', '--threads', '2', *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    match = LAST.fullmatch(lines[-1])
    assert match, lines[-1]
    rows = {
        cells[0]: cells
        for cells in ([c.strip() for c in ln.strip('|').split('|')]
                      for ln in lines if ln.startswith('| '))
    }
    return float(match.group(1)), float(match.group(2)), rows


def test_fp32_parity_and_format():
    speedup, diff, rows = run_tool()
    assert speedup > 0
    assert diff <= 1e-4
    assert {'swin', 'vit', 'fusion'} <= set(rows)
    header = rows['part']
    for part in ('swin', 'vit', 'fusion'):
        cells = dict(zip(header, rows[part]))
        assert float(cells['ours MiB']) > 0 and float(cells['ref MiB']) > 0
        assert float(cells['max_abs_diff']) <= 1e-4
        assert float(cells['grad_diff']) <= 1e-3


def test_bf16_autocast_and_checkpointing_run():
    speedup, diff, rows = run_tool('--dtype', 'bf16', '--with-cp',
                                   '--parts', 'vit', 'fusion')
    assert set(rows) == {'part', 'vit', 'fusion'}
    assert speedup > 0 and diff < 0.5
