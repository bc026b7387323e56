"""tools/analysis_tools/benchmark_pretrain.py (SkySense pre-training,
https://arxiv.org/abs/2312.10115) on the tiny demo config: 1 warm-up and 2
timed iterations on a generated demo world; the table and the last
``key=value`` line parse and agree. Speed is not asserted (shared cores)."""
import importlib.util
import os.path as osp
import re
import sys

import pytest
import torch

from conftest import ROOT, TOOLS, run_tool

CONFIG = osp.join(ROOT, 'configs', 'pretrain',
                  'skysense_tiny_pretrain_demo.py')
LAST = re.compile(r'it_per_s=(\d+\.\d+) data_wait_share=(\d+\.\d+) '
                  r'sinkhorn_share=(\d+\.\d+)')


def _tool():
    spec = importlib.util.spec_from_file_location(
        'benchmark_pretrain',
        osp.join(TOOLS, 'analysis_tools', 'benchmark_pretrain.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    sys.path.insert(0, osp.join(TOOLS, 'misc'))
    import make_demo_data
    root = str(tmp_path_factory.mktemp('bench_world'))
    return make_demo_data.generate(root, num_samples=4, hr_size=128)


def test_table_and_last_line(world, tmp_path):
    out = run_tool(
        'analysis_tools/benchmark_pretrain.py', CONFIG, '--iters', '2',
        '--warmup', '1', '--work-dir', str(tmp_path), '--cfg-options',
        f'train_dataloader.dataset.data_root={world}',
        'train_dataloader.batch_size=2')
    lines = out.strip().splitlines()
    match = LAST.fullmatch(lines[-1])
    assert match, lines[-1]
    it_per_s, data_share, sk_share = map(float, match.groups())
    rows = {}
    for ln in lines:
        m = re.fullmatch(r'(\S.*?)\s{2,}(\S+)', ln)
        if m:
            rows[m.group(1).strip()] = m.group(2)
    assert rows['timed iterations'] == '2'
    iter_ms = float(rows['iteration time (ms)'])
    data_ms = float(rows['data wait (ms)'])
    step_ms = float(rows['step: fwd+bwd+optim+teacher (ms)'])
    assert float(rows['iterations/s']) == pytest.approx(it_per_s, abs=1e-3)
    assert 1000 / iter_ms == pytest.approx(it_per_s, rel=1e-2)
    assert data_ms + step_ms == pytest.approx(iter_ms, abs=0.2)
    assert data_share == pytest.approx(data_ms / iter_ms, abs=1e-3)
    assert 0 < data_share < 1 and 0 < sk_share < 1
    # L_obj clusters every image; the prototype update runs once per region
    assert float(rows['Sinkhorn calls / iteration']) > 0
    assert float(rows['Sinkhorn (ms)']) < step_ms
    assert float(rows['last loss']) > 0


def test_sinkhorn_timer_counts_outermost_calls_and_restores():
    tool = _tool()
    from skysense_mm.models.utils import sinkhorn as sk
    original = sk.sinkhorn_knopp
    timer = tool.SinkhornTimer()
    with timer:
        assert sk.sinkhorn_knopp is not original
        # sinkhorn_cluster calls sinkhorn_knopp inside: counted once
        sk.sinkhorn_cluster(torch.randn(1, 16, 4), 2, num_rounds=3)
        sk.sinkhorn_knopp(torch.randn(6, 3), 0.05, 3)
    assert timer.calls == 2 and timer.seconds > 0
    assert sk.sinkhorn_knopp is original
