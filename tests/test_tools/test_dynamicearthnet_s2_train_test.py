"""The tiny SkySense DynamicEarthNet-S2 config
(https://arxiv.org/abs/2312.10115, Tab. 2c: mIoU and SCS) trains 2
iterations and tests through tools/train.py / tools/test.py, printing mIoU
and SCS from per-month predictions of each cube on the 64x64 label grid.
The data root is a tree in the official layout written by
tests/_dynamicearthnet_layout.py (no real DynamicEarthNet data available)."""
import os.path as osp
import re
import sys

from conftest import ROOT, run_tool

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _dynamicearthnet_layout import make_dynamicearthnet  # noqa

TINY = osp.join(
    ROOT, 'configs', 'benchmarks', 'seg', 'dynamicearthnet',
    'skysense_vit-tiny-s2_upernet_2iters_dynamicearthnet-s2-32x32.py')


def test_tiny_s2_train_and_test(tmp_path):
    root = make_dynamicearthnet(str(tmp_path / 'dynnet'))['root']
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}']
    work = str(tmp_path / 'work')
    out = run_tool('train.py', TINY, '--work-dir', work, *opts)
    assert 'Iter(train) [2/2]' in out
    out = run_tool('test.py', TINY, osp.join(work, 'iter_2.pth'),
                   '--work-dir', work, '--out', str(tmp_path / 'sub'),
                   '--show-dir', str(tmp_path / 'show'), *opts)
    m = re.search(r'Iter\(test\) \[6/6\].*mIoU: ([\d.]+)\s+SCS: ([\d.]+)',
                  out)
    assert m, out[-3000:]
    assert 0.0 <= float(m.group(1)) <= 100.0
    assert 0.0 <= float(m.group(2)) <= 100.0
    # res/ (predictions) and ref/ (labels): the official evaluate.py input
    for sub in ('res', 'ref'):
        assert len(list((tmp_path / 'sub' / sub).glob('*.png'))) == 6
    # --show-dir on the 12-band GeoTIFFs (mmseg's hook cannot read them):
    # one prediction + one B4/B3/B2 PNG per frame
    drawn = list((tmp_path / 'show').rglob('*.png'))
    assert len([p for p in drawn if '_pred_' in p.name]) == 6
    assert len([p for p in drawn if '_rgb_' in p.name]) == 6
