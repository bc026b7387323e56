"""configs/benchmarks/cd/*/metafile.yml: every change-detection config is
listed, exists, and carries the paper's F1 (SkySense Tab. 2c,
https://arxiv.org/abs/2312.10115: LEVIR-CD 92.58, OSCD 60.06)."""
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config

from conftest import ROOT

PAPER_F1 = {'levircd': ('LEVIR-CD', 92.58), 'oscd': ('OSCD', 60.06)}


@pytest.mark.parametrize('folder', sorted(PAPER_F1))
def test_metafile_lists_every_config(folder):
    base = osp.join(ROOT, 'configs', 'benchmarks', 'cd', folder)
    with open(osp.join(base, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    collections = {c['Name'] for c in meta['Collections']}
    listed = set()
    paper = []
    for model in meta['Models']:
        assert model['In Collection'] in collections
        cfg_path = osp.join(ROOT, model['Config'])
        assert osp.isfile(cfg_path), cfg_path
        assert model['Name'] == osp.splitext(osp.basename(cfg_path))[0]
        listed.add(osp.basename(cfg_path))
        for res in model.get('Results') or []:
            paper.append((res['Dataset'], res['Metrics']['F1']))
            assert 'paper' in res['Note']
        cfg = Config.fromfile(cfg_path)
        assert cfg.model.decode_head.num_classes == 2
        assert cfg.test_evaluator.type == 'skysense_mm.ChangeDetectionMetric'
    assert listed == {osp.basename(p)
                      for p in glob.glob(osp.join(base, '*.py'))}
    assert paper == [PAPER_F1[folder]]
