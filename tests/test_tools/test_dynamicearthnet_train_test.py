"""The SkySense DynamicEarthNet benchmark configs
(https://arxiv.org/abs/2312.10115, Tab. 2c): settings and metafile of the
full configs, and the tiny Planet config training 2 iterations and testing
through tools/train.py / tools/test.py, with the CodaLab submission written
by ``--out x.zip``. No real DynamicEarthNet data is available: the data
root is a tree in the official layout written by
tests/_dynamicearthnet_layout.py (faithful layout, generated values)."""
import os.path as osp
import re
import sys
import zipfile

import numpy as np
import yaml
from mmengine.config import Config
from PIL import Image

from conftest import ROOT, run_tool

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _dynamicearthnet_layout import CUBES, make_dynamicearthnet  # noqa

DIR = osp.join(ROOT, 'configs', 'benchmarks', 'seg', 'dynamicearthnet')
PLANET = osp.join(
    DIR, 'skysense_swinv2-huge_upernet_40k_dynamicearthnet-planet-512x512.py')
S2 = osp.join(
    DIR, 'skysense_vit-large-s2_upernet_40k_dynamicearthnet-s2-512x512.py')
TINY = osp.join(
    DIR, 'skysense_swinv2-tiny_upernet_2iters_dynamicearthnet-planet-32x32.py')
MONTHS = ('2018-01', '2018-02', '2018-03')
SCORES = (r'mIoU: ([\d.]+)\s+SCS: ([\d.]+)\s+BC: ([\d.]+)\s+SC: ([\d.]+)')


def test_full_config_settings():
    planet, s2 = Config.fromfile(PLANET), Config.fromfile(S2)
    for cfg in (planet, s2):
        assert cfg.model.decode_head.type == 'UPerHead'
        assert cfg.model.decode_head.num_classes == 6
        assert cfg.model.backbone.type == 'skysense_mm.SkySense'
        assert cfg.test_evaluator.type == 'skysense_mm.DynamicEarthNetMetric'
        assert cfg.train_dataloader.dataset.split == 'train'
        assert cfg.val_dataloader.dataset.split == 'val'
        assert cfg.test_dataloader.dataset.split == 'test'
        assert cfg.model.test_cfg.mode == 'whole'  # the full tile
    hr = planet.model.backbone.backbone_hr
    assert (hr.arch, hr.in_channels) == ('huge', 4)
    assert planet.crop_size == (512, 512)
    assert planet.train_dataloader.dataset.frames == 'single'
    assert planet.model.data_preprocessor.mean == [1042.6, 915.6, 671.3,
                                                   2605.2]
    vit = s2.model.backbone.backbone_s2
    assert (vit.arch, vit.in_channels, vit.patch_size) == ('large', 10, 4)
    assert s2.train_dataloader.dataset.modality == 's2'
    # 128 crops on the 1/4 grid = 512 label pixels
    resize, crop = s2.train_pipeline[2:4]
    assert resize.scale_factor * 512 == crop.crop_size[0] == 128


def test_metafile_lists_configs_with_paper_numbers():
    with open(osp.join(DIR, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    numbers = {}
    for model in meta['Models']:
        cfg_path = osp.join(ROOT, model['Config'])
        assert osp.isfile(cfg_path)
        assert model['Name'] == osp.splitext(osp.basename(cfg_path))[0]
        for res in model.get('Results') or []:
            assert 'paper' in res['Note']
            for k, v in res['Metrics'].items():
                numbers[(res['Dataset'], k)] = v
    assert len(meta['Models']) == 4
    assert numbers == {
        ('DynamicEarthNet-Planet (val)', 'mIoU'): 39.7,
        ('DynamicEarthNet-Planet (test)', 'mIoU'): 46.5,
        ('DynamicEarthNet-S2 (val)', 'mIoU'): 33.1,
        ('DynamicEarthNet-S2 (test)', 'mIoU'): 46.2,
        ('DynamicEarthNet-S2 (val)', 'SCS'): 15.4,
        ('DynamicEarthNet-S2 (test)', 'SCS'): 18.0,
    }


def test_tiny_planet_train_test_and_submission(tmp_path):
    root = make_dynamicearthnet(str(tmp_path / 'dynnet'), months=MONTHS)
    data_root = root['root']
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}']
    work = str(tmp_path / 'work')
    out = run_tool('train.py', TINY, '--work-dir', work, *opts)
    assert 'Iter(train) [2/2]' in out
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    sub = str(tmp_path / 'x.zip')
    show = tmp_path / 'show'
    out = run_tool('test.py', TINY, ckpt, '--work-dir', work, '--out', sub,
                   '--show-dir', str(show), *opts)
    m = re.search(r'Iter\(test\) \[6/6\].*' + SCORES, out)
    assert m, out[-3000:]
    miou, scs, bc, sc = map(float, m.groups())
    assert 0 <= miou <= 100 and 0 <= bc <= 100 and 0 <= sc <= 100
    assert abs(scs - (bc + sc) / 2) <= 0.1
    # the CodaLab zip: one 0-5 PNG per (cube, month) on the label grid,
    # named <label folder>-YYYY_MM_01.png (evaluate.py: name[:-11] = cube)
    with zipfile.ZipFile(sub) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(f'{c[3]}-{m.replace("-", "_")}_01.png'
                               for c in CUBES for m in MONTHS)
        zf.extractall(tmp_path / 'res')
    for name in names:
        arr = np.array(Image.open(tmp_path / 'res' / name))
        assert arr.shape == (64, 64) and arr.dtype == np.uint8
        assert arr.max() <= 5
        assert name.split('.')[0][:-11] in {c[3] for c in CUBES}
    # --show-dir: a prediction and an RGB PNG per (cube, month); the frames
    # of the two cubes share their image (date) names but not their labels'
    drawn = sorted(p.name for p in show.rglob('*.png'))
    for name in names:
        stem = name[:-len('.png')]
        assert f'{stem}_pred_0.png' in drawn and f'{stem}_rgb_0.png' in drawn
    assert len(drawn) == 2 * len(names)
