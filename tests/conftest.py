import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = os.environ.get(
    'SKYSENSE_SHARED_DATA', osp.join(osp.dirname(ROOT), 'shared', 'data'))
SHARED_DESIGN = os.environ.get(
    'SKYSENSE_SHARED_DESIGN', osp.join(osp.dirname(ROOT), 'shared', 'design'))
# key/shape list of the official release (../shared/design, not copied here)
OFFICIAL_MANIFEST = osp.join(SHARED_DESIGN, 'official_checkpoint_manifest.tsv')
TOOLS = osp.join(ROOT, 'tools')

if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

# one intra-op thread for tool subprocesses: on a shared 2-core machine, 2
# OpenMP threads per process make the tiny convolutions ~10x slower
TOOL_ENV = dict(os.environ, OMP_NUM_THREADS='1')


def run_tool(script, *args, timeout=300, check=True):
    """Run ``tools/<script>`` in a subprocess from the repository root.

    Args:
        script (str): path below ``tools/``, e.g. ``'train.py'``.
        *args (str): command-line arguments.
        timeout (int): seconds before the run is killed.
        check (bool): assert a zero exit status (showing the output tail).

    Returns:
        str | subprocess.CompletedProcess: stdout + stderr when ``check``,
        else the completed process.
    """
    res = subprocess.run([sys.executable, osp.join(TOOLS, script), *args],
                         capture_output=True, text=True, timeout=timeout,
                         cwd=ROOT, env=TOOL_ENV)
    if not check:
        return res
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    return out


@pytest.fixture(scope='session')
def shared_data():
    """Folder of real sample files in official formats (../shared/data)."""
    if not osp.isdir(SHARED_DATA):
        pytest.fail(f'shared sample data not found at {SHARED_DATA}; set '
                    'SKYSENSE_SHARED_DATA')
    return SHARED_DATA


@pytest.fixture(scope='session')
def demo_data_root(tmp_path_factory):
    """The generated demo data set (tools/demo/generate_demo_data.py)."""
    sys.path.insert(0, osp.join(TOOLS, 'demo'))
    import generate_demo_data
    root = str(tmp_path_factory.mktemp('demo_data'))
    return generate_demo_data.generate(root, num_train=16, num_val=4)


@pytest.fixture(autouse=True)
def _isolate_default_scope():
    """Undo any mmengine default scope a test created (e.g. by building a
    Runner or calling ``init_default_scope('mmseg')`` in-process), so that
    registry lookups in later tests do not depend on the test order."""
    from mmengine.registry import DefaultScope
    instances = DefaultScope._instance_dict
    before = list(instances)
    yield
    for name in [n for n in instances if n not in before]:
        del instances[name]
    if before:
        instances.move_to_end(before[-1])
