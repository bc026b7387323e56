"""The OpenMMLab model index: ``model-index.yml`` imports one metafile per
benchmark folder; every metafile entry names an existing config that loads,
every benchmark config is listed, and every number is marked as the SkySense
paper's (https://arxiv.org/abs/2312.10115), since none is reproduced here."""
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config

from conftest import ROOT

BENCH = osp.join(ROOT, 'configs', 'benchmarks')
METAFILES = sorted(glob.glob(osp.join(BENCH, '*', '*', 'metafile.yml')))


def _load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_model_index_imports_every_metafile():
    index = _load(osp.join(ROOT, 'model-index.yml'))
    imported = [osp.join(ROOT, p) for p in index['Import']]
    assert all(osp.isfile(p) for p in imported), imported
    assert sorted(imported) == METAFILES
    # every benchmark folder has its metafile
    folders = {osp.dirname(p) for p in
               glob.glob(osp.join(BENCH, '*', '*', '*.py'))}
    assert folders == {osp.dirname(p) for p in METAFILES}


@pytest.mark.parametrize('metafile', METAFILES,
                         ids=[osp.relpath(osp.dirname(p), BENCH)
                              for p in METAFILES])
def test_metafile_entries(metafile):
    meta = _load(metafile)
    collections = {c['Name'] for c in meta['Collections']}
    listed = set()
    for model in meta['Models']:
        assert model['In Collection'] in collections, model['Name']
        cfg_path = osp.join(ROOT, model['Config'])
        assert osp.isfile(cfg_path), cfg_path
        assert model['Name'] == osp.splitext(osp.basename(cfg_path))[0]
        listed.add(osp.abspath(cfg_path))
        cfg = Config.fromfile(cfg_path)
        assert 'model' in cfg and 'test_evaluator' in cfg, cfg_path
        for res in model.get('Results') or []:
            assert res['Task'] and res['Dataset'], model['Name']
            assert res['Metrics'], model['Name']
            assert 'paper' in res.get('Note', '').lower(), model['Name']
    in_folder = {osp.abspath(p) for p in
                 glob.glob(osp.join(osp.dirname(metafile), '*.py'))}
    assert listed == in_folder, sorted(in_folder ^ listed)
