"""The SkySense AID / NWPU-RESISC45 scene classification configs
(https://arxiv.org/abs/2312.10115, Tab. 3: linear head, OA): the settings of
every full config and metafile, and the tiny configs training 2 iterations
(AID: linear probe, RESISC45: full fine-tuning) on make_cls_split.py split
files of the real samples in ../shared/data, then testing through
tools/train.py / tools/test.py."""
import glob
import importlib.util
import os.path as osp
import pickle
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from mmengine.config import Config

from conftest import ROOT, TOOLS, run_tool

CLS = osp.join(ROOT, 'configs', 'benchmarks', 'cls')
AID_SAMPLE = 'AID/zlima__testtensor/AID'
RESISC_SAMPLE = ('NWPU-RESISC45/tensorflow__datasets/tensorflow_datasets/'
                 'testing/test_data/fake_examples/resisc45/NWPU-RESISC45')
# dataset folder -> (metafile Dataset, classes, {train ratio %: paper OA})
PAPER = {'aid': ('AID', 30, {20: 97.68, 50: 98.60}),
         'resisc45': ('NWPU-RESISC45', 45, {10: 94.85, 20: 96.32})}


def _split_tool():
    spec = importlib.util.spec_from_file_location(
        'skysense_make_cls_split_t',
        osp.join(TOOLS, 'dataset_converters', 'make_cls_split.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('folder', sorted(PAPER))
def test_full_configs_and_metafile(folder):
    name, num_classes, paper = PAPER[folder]
    base = osp.join(CLS, folder)
    with open(osp.join(base, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    listed, results = set(), []
    for model in meta['Models']:
        path = osp.join(ROOT, model['Config'])
        assert model['Name'] == osp.splitext(osp.basename(path))[0]
        listed.add(path)
        for res in model.get('Results') or []:
            assert res['Dataset'] == name and 'paper' in res['Note']
            results.append((model['Metadata']['Train Ratio'],
                            model['Metadata']['Mode'],
                            res['Metrics']['Overall Accuracy']))
    assert listed == set(glob.glob(osp.join(base, '*.py')))
    assert sorted(results) == sorted(
        (tr, mode, oa) for tr, oa in paper.items()
        for mode in ('full fine-tuning', 'linear probe (frozen encoder)'))
    for tr in paper:
        for mode in ('linear-probe', 'finetune'):
            cfg = Config.fromfile(osp.join(
                base, f'skysense_swinv2-huge_{mode}_100e_{folder}-tr{tr}-'
                '256x256.py'))
            assert cfg.default_scope == 'mmpretrain'
            bb = cfg.model.backbone
            assert (bb.type, bb.arch, bb.window_size) == (
                'skysense_mm.SkySenseSwinV2', 'huge', 8)
            assert bb.out_indices == (3, )
            assert cfg.model.neck.type == 'GlobalAveragePooling'
            head = cfg.model.head
            assert (head.type, head.in_channels, head.num_classes) == (
                'LinearClsHead', 2816, num_classes)
            split = f'splits/tr{tr}_seed0/'
            for loader, file in (('train', 'train'), ('val', 'test'),
                                 ('test', 'test')):
                ds = cfg[f'{loader}_dataloader'].dataset
                assert ds.ann_file == split + file + '.txt'
                assert ds.type == ('skysense_mm.AIDDataset' if folder == 'aid'
                                   else 'skysense_mm.RESISC45Dataset')
            assert cfg.test_evaluator == dict(type='Accuracy', topk=(1, 5))
            assert cfg.train_cfg.max_epochs == 100
            opt = cfg.optim_wrapper.optimizer
            if mode == 'linear-probe':
                assert bb.frozen_stages == 3 and bb.drop_path_rate == 0.0
                assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW',
                                                                1e-3, 1e-4)
            else:
                assert bb.frozen_stages == -1 and bb.drop_path_rate == 0.2
                assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW',
                                                                1e-4, 0.05)


def test_label_ratio_config():
    cfg = Config.fromfile(osp.join(
        CLS, 'aid',
        'skysense_swinv2-huge_finetune_100e_aid-tr50-label1pct-256x256.py'))
    assert cfg.train_dataloader.dataset.ann_file == (
        'splits/tr50_seed0/train_1pct.txt')
    assert cfg.test_dataloader.dataset.ann_file == 'splits/tr50_seed0/test.txt'
    assert cfg.model.backbone.frozen_stages == -1


def _opts(data_root, train_ann):
    return ['--cfg-options',
            f'train_dataloader.dataset.data_root={data_root}',
            f'train_dataloader.dataset.ann_file={train_ann}',
            f'test_dataloader.dataset.data_root={data_root}']


def _train(cfg, work, data_root, train_ann):
    out = run_tool('train.py', cfg, '--work-dir', work,
                   *_opts(data_root, train_ann))
    assert 'Iter(train) [2/2]' in out
    assert osp.isfile(osp.join(work, 'iter_2.pth'))


def _test(cfg, work, data_root, train_ann):
    preds = osp.join(work, 'preds.pkl')
    opts = _opts(data_root, train_ann)
    out = run_tool('test.py', cfg, osp.join(work, 'iter_2.pth'), '--work-dir',
                   work, '--out', preds, opts[0], opts[3])
    m = re.search(r'accuracy/top1: ([\d.]+)\s+accuracy/top5: ([\d.]+)', out)
    assert m, out[-3000:]
    print(m.group(0))
    with open(preds, 'rb') as f:
        return float(m.group(1)), pickle.load(f)


def test_tiny_aid_linear_probe_and_resisc45_finetune(shared_data, tmp_path):
    tool = _split_tool()
    aid = osp.join(shared_data, AID_SAMPLE)
    tool.make_split(aid, 'aid', 0.2, 0, str(tmp_path / 'aid_split'))
    resisc = osp.join(shared_data, RESISC_SAMPLE)
    tool.make_split(resisc, 'resisc45', 0.1, 0, str(tmp_path / 'r_split'),
                    allow_missing_classes=True)
    runs = [
        (osp.join(CLS, 'aid',
                  'skysense_swinv2-tiny_linear-probe_2iters_aid-64x64.py'),
         str(tmp_path / 'aid'), aid, str(tmp_path / 'aid_split/train.txt')),
        (osp.join(CLS, 'resisc45',
                  'skysense_swinv2-tiny_finetune_2iters_resisc45-64x64.py'),
         str(tmp_path / 'resisc'), resisc,
         str(tmp_path / 'r_split/train.txt')),
    ]
    # the two data sets' tool runs go side by side (subprocesses)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda r: _train(*r), runs))
        (top1, preds), (r_top1, r_preds) = pool.map(lambda r: _test(*r), runs)

    assert 0.0 <= top1 <= 100.0
    assert len(preds) == 30  # the whole tree: 30 classes x 1 image
    assert preds[0]['pred_score'].shape == (30, )
    assert [int(p['gt_label'][0]) for p in preds] == list(range(30))
    # top-1 is the share of correct argmax predictions
    correct = sum(int(p['pred_label'][0]) == int(p['gt_label'][0])
                  for p in preds)
    assert top1 == pytest.approx(100.0 * correct / 30, abs=1e-3)

    assert [int(p['gt_label'][0]) for p in r_preds] == [12, 19]
    assert r_preds[0]['pred_score'].shape == (45, )
    assert r_top1 in (0.0, 50.0, 100.0)
