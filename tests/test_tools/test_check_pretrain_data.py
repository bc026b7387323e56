"""tools/dataset_converters/check_pretrain_data.py (issue 4, item 1)."""
import os.path as osp
import re
import subprocess
import sys

import pytest

from _pretrain_world import BREAKERS, make_world
from skysense_mm.datasets import PretrainSampleError, SkySensePretrainDataset

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(ROOT, 'tools', 'dataset_converters', 'check_pretrain_data.py')


def run_tool(*args):
    proc = subprocess.run([sys.executable, TOOL, *args],
                          capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def parse(stdout):
    """{sample_id: [problem lines]} from the tool's report."""
    bad, current = {}, None
    for line in stdout.splitlines():
        m = re.match(r'BAD (\S+): (\d+) problem', line)
        if m:
            current = m.group(1)
            bad[current] = []
        elif line.startswith('  - ') and current:
            bad[current].append(line[4:])
        else:
            current = None
    return bad


def test_clean_world_passes(tmp_path):
    root = make_world(tmp_path, num_samples=4, hr_size=64, num_s2=3,
                      num_s1=2)
    rc, out, err = run_tool(root, '--ann-file', 'splits/all.txt')
    assert rc == 0, out + err
    assert out.strip().splitlines()[-1] == 'checked=4 bad=0'
    assert 'BAD' not in out


def test_lists_every_bad_sample_with_reasons(tmp_path):
    root = make_world(tmp_path, num_samples=9, hr_size=64, num_s2=3,
                      num_s1=2)
    cases = {
        'demo_00001': ['wrong_band_count', 'missing_lon'],  # two problems
        'demo_00002': ['bad_date'],
        'demo_00003': ['all_nodata_s2'],
        'demo_00004': ['all_nan_s1'],
        'demo_00005': ['short_s1'],
        'demo_00006': ['missing_s2'],
        'demo_00007': ['missing_hr', 'missing_lat_value'],
    }
    expected = {}
    for sid, names in cases.items():
        expected[sid] = [BREAKERS[n](root, sid) for n in names]
    with open(osp.join(root, 'splits', 'all.txt'), 'a') as f:
        f.write('ghost  # listed but absent\n')
    rc, out, err = run_tool(root, '--ann-file', 'splits/all.txt',
                            '--min-s1-dates', '2')
    assert rc == 1, out + err
    lines = out.strip().splitlines()
    assert lines[-1] == 'checked=10 bad=8'
    bad = parse(out)
    assert set(bad) == set(cases) | {'ghost'}
    for sid, problems in expected.items():
        assert len(bad[sid]) == len(problems), (sid, bad[sid])
        for path, field, reason in problems:
            hits = [
                ln for ln in bad[sid]
                if ln.startswith(f"{path}: field '{field}': ")
                and reason in ln
            ]
            assert hits, (sid, path, field, reason, bad[sid])
    assert bad['ghost'] == [
        f"{osp.join(root, 'ghost')}: field 'sample_id': "
        'sample folder not found'
    ]
    assert 'bad: 8' in out and "problems in field 's2': 3" in out

    # the dataset agrees with the checker, sample by sample
    ds = SkySensePretrainDataset(
        data_root=root, ann_file='splits/all.txt',
        pipeline=[dict(type='LoadSkySensePretrainSample', min_s1_dates=2)])
    failing = set()
    for i in range(len(ds)):
        sid = ds.get_data_info(i)['sample_id']
        try:
            ds[i]
        except PretrainSampleError:
            failing.add(sid)
    assert failing == set(bad)


def test_without_split_and_bad_root(tmp_path):
    root = make_world(tmp_path, num_samples=3, hr_size=32, num_s2=1,
                      num_s1=1)
    BREAKERS['wrong_s2_size'](root, 'demo_00002')
    rc, out, _ = run_tool(root)
    assert rc == 1
    assert out.strip().splitlines()[-1] == 'checked=3 bad=1'
    assert 'expected 1x1 (HR size / hr_scale)' in out
    rc, _, err = run_tool(str(tmp_path / 'nowhere'))
    assert rc == 2 and 'not found' in err


@pytest.mark.parametrize('hr_size', [64])
def test_checker_library_function(tmp_path, hr_size):
    from skysense_mm.datasets.pretrain_format import index_sample
    from skysense_mm.datasets.transforms.loading import check_pretrain_sample
    root = make_world(tmp_path, num_samples=1, hr_size=hr_size, num_s2=3,
                      num_s1=2)
    info = index_sample(root, 'demo_00000')
    assert check_pretrain_sample(info) == []
    paths = [BREAKERS[n](root, 'demo_00000')[0]
             for n in ('wrong_band_count', 'all_nan_s1')]
    errors = check_pretrain_sample(index_sample(root, 'demo_00000'))
    assert [e.path for e in errors] == paths
