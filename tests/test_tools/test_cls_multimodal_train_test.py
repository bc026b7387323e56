"""The SkySense (https://arxiv.org/abs/2312.10115, Tab. 3) BigEarthNet-S2
and fMoW-S2 benchmark configs: paper settings and metafiles of the full
configs, and the tiny configs training 2 iterations and testing through
tools/train.py / tools/test.py: BigEarthNet on the 3 real v1.0 example
patches of ../shared/data, fMoW-Sentinel on a tree written in SatMAE's
documented layout by tests/_fmow_sentinel_layout.py (no real sample exists;
see its docstring). The two train/test chains run concurrently."""
import glob
import os.path as osp
import re
from concurrent.futures import ThreadPoolExecutor

import yaml
from mmengine.config import Config

from _fmow_sentinel_layout import write_fmow_sentinel
from conftest import ROOT, run_tool

CLS = osp.join(ROOT, 'configs', 'benchmarks', 'cls')
BEN = osp.join(CLS, 'bigearthnet')
FMOW = osp.join(CLS, 'fmow')
BEN_LINEAR = 'skysense_vit-large_linear_{}pct_bigearthnet-s2-120x120.py'
BEN_TINY = osp.join(
    BEN, 'skysense_vit-tiny_linear_2iters_bigearthnet-s2-120x120.py')
FMOW_LINEAR = osp.join(FMOW,
                       'skysense_vit-large-fusion_linear_fmow-s2-t3-96x96.py')
FMOW_TINY = osp.join(
    FMOW, 'skysense_vit-tiny-fusion_linear_2iters_fmow-s2-t3-8x8.py')
PAPER = {
    'bigearthnet': [('BigEarthNet-S2', {'mAP': 88.67}),
                    ('BigEarthNet-S2', {'mAP': 92.09})],
    'fmow': [('fMoW-S2', {'Top 1 Accuracy': 64.38,
                          'Top 5 Accuracy': 87.27})],
}


def test_full_configs():
    for pct, ratio in ((10, 0.1), (100, 1.0)):
        cfg = Config.fromfile(osp.join(BEN, BEN_LINEAR.format(pct)))
        assert cfg.default_scope == 'mmpretrain'
        assert cfg.model.type == 'skysense_mm.SkySenseClassifier'
        assert cfg.model.freeze_backbone is True
        bb = cfg.model.backbone
        assert (bb.type, bb.arch, bb.in_channels, bb.patch_size) == (
            'skysense_mm.SkySenseViT', 'large', 10, 4)
        assert cfg.model.head.type == 'MultiLabelLinearClsHead'
        assert (cfg.model.head.num_classes, cfg.model.head.in_channels) == (
            19, 1024)
        train = cfg.train_dataloader.dataset
        assert train.train_ratio == ratio and train.subset_seed == 42
        assert train.ann_file == 'splits/train.csv'
        assert len(train.exclude_files) == 2
        assert cfg.test_evaluator.type == 'skysense_mm.MicroAveragePrecision'
        assert len(cfg.model.data_preprocessor.mean) == 10
    ft = Config.fromfile(osp.join(
        BEN, 'skysense_vit-large_finetune_100pct_bigearthnet-s2-120x120.py'))
    assert ft.model.freeze_backbone is False
    assert ft.optim_wrapper.optimizer.type == 'AdamW'

    cfg = Config.fromfile(FMOW_LINEAR)
    assert cfg.model.freeze_backbone is True
    assert cfg.model.data_preprocessor.type == \
        'skysense_mm.SeriesClsDataPreprocessor'
    sky = cfg.model.backbone
    assert sky.type == 'skysense_mm.SkySense'
    assert 'backbone_hr' not in sky and 'backbone_s1' not in sky
    assert sky.backbone_s2.arch == 'large'
    assert (sky.fusion_neck.num_layers, sky.fusion_neck.embed_dims) == (24,
                                                                        1024)
    assert sky.fusion_neck.in_channels_s1 is None
    assert (cfg.model.head.num_classes, cfg.model.head.topk) == (62, (1, 5))
    assert cfg.test_evaluator == dict(type='Accuracy', topk=(1, 5))
    load = cfg.test_dataloader.dataset.pipeline[0]
    assert (load.num_dates, load.size, load.sample) == (3, 96, 'uniform')
    assert cfg.test_dataloader.dataset.ann_file == 'val.csv'


def test_metafiles_list_every_config_with_paper_numbers():
    for folder, expected in PAPER.items():
        base = osp.join(CLS, folder)
        with open(osp.join(base, 'metafile.yml')) as f:
            meta = yaml.safe_load(f)
        names = {c['Name'] for c in meta['Collections']}
        listed, paper = set(), []
        for model in meta['Models']:
            assert model['In Collection'] in names
            path = osp.join(ROOT, model['Config'])
            assert osp.isfile(path), path
            assert model['Name'] == osp.splitext(osp.basename(path))[0]
            listed.add(osp.basename(path))
            for res in model.get('Results') or []:
                assert 'paper' in res['Note']
                paper.append((res['Dataset'], res['Metrics']))
        assert paper == expected
        assert listed == {osp.basename(p)
                          for p in glob.glob(osp.join(base, '*.py'))}


def _train_test(config, work, opts_train, opts_test):
    out = run_tool('train.py', config, '--work-dir', work, *opts_train)
    assert 'Iter(train) [2/2]' in out, out[-3000:]
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    return run_tool('test.py', config, ckpt, '--work-dir', work, *opts_test)


def test_tiny_configs_train_and_test(tmp_path, shared_data):
    ben_root = osp.join(shared_data, 'BigEarthNet',
                        'kai-tub__bigearthnet_common', 'src',
                        'bigearthnet_common')
    ben_opts = ['--cfg-options',
                f'train_dataloader.dataset.data_root={ben_root}',
                f'test_dataloader.dataset.data_root={ben_root}']
    root = write_fmow_sentinel(str(tmp_path / 'fmow'))
    fmow_opts = ['--cfg-options', f'train_dataloader.dataset.data_root={root}',
                 f'test_dataloader.dataset.data_root={root}']
    with ThreadPoolExecutor(2) as pool:
        ben = pool.submit(_train_test, BEN_TINY, str(tmp_path / 'ben'),
                          ben_opts, ben_opts)
        fmow = pool.submit(_train_test, FMOW_TINY, str(tmp_path / 'fm'),
                           fmow_opts, fmow_opts)
        ben_out, fmow_out = ben.result(), fmow.result()
    m = re.search(r'Iter\(test\) \[1/1\].*multi-label/mAP_micro: ([\d.]+)\s+'
                  r'multi-label/mAP_macro: ([\d.]+)', ben_out)
    assert m, ben_out[-3000:]
    assert 0.0 < float(m.group(1)) <= 100.0
    m = re.search(r'Iter\(test\) \[1/1\].*accuracy/top1: ([\d.]+)\s+'
                  r'accuracy/top5: ([\d.]+)', fmow_out)
    assert m, fmow_out[-3000:]
    top1, top5 = float(m.group(1)), float(m.group(2))
    assert top1 in (0.0, 50.0, 100.0) and top1 <= top5  # 2 val locations
