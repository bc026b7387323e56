"""tools/train.py and tools/test.py run an MMPretrain config (its
``default_scope`` decides) on the real AID sample of ../shared/data."""
import os.path as osp
import pickle
import subprocess
import sys

from conftest import ROOT

CONFIG = osp.join(ROOT, 'tests', 'data', 'stock_configs',
                  'mmpretrain_aid_tiny.py')


def _run(*args):
    res = subprocess.run([sys.executable, *args], capture_output=True,
                         text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


def test_train_then_test_aid_classifier(shared_data, tmp_path):
    aid = osp.join(shared_data, 'AID', 'zlima__testtensor', 'AID')
    work = str(tmp_path)
    _run(osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir', work,
         '--cfg-options', f'train_dataloader.dataset.data_root={aid}',
         f'val_dataloader.dataset.data_root={aid}')
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    out = osp.join(work, 'preds.pkl')
    log = _run(osp.join(ROOT, 'tools', 'test.py'), CONFIG,
               osp.join(work, 'iter_2.pth'), '--work-dir', work, '--out', out,
               '--cfg-options', f'test_dataloader.dataset.data_root={aid}')
    assert 'accuracy/top1' in log and 'accuracy/top5' in log
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 30  # 30 AID classes x 1 image
    assert preds[0]['pred_score'].shape == (30, )
    assert sorted({int(p['gt_label'][0]) for p in preds}) == list(range(30))
