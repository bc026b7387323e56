"""skysense_mm.MultiBandSegVisualizationHook helpers (https://arxiv.org/abs/2312.10115
change detection benchmarks): palette colour mapping, RGB stretching and
sample naming; the hook itself runs in tests/test_tools/test_cd_*.py."""
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from skysense_mm.engine.hooks.multiband_seg_visualization_hook import (
    MultiBandSegVisualizationHook, colorize, sample_name, stretch_to_uint8)


def test_colorize_uses_palette():
    label = np.array([[0, 1], [2, 1]])
    out = colorize(label, [[0, 0, 0], [255, 255, 255], [10, 20, 30]])
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[1, 0].tolist() == [10, 20, 30]
    assert out[0, 0].tolist() == [0, 0, 0]


def test_stretch():
    img = np.arange(100, dtype=np.float32).reshape(10, 10, 1) * 100 + 1000
    out = stretch_to_uint8(img)
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    eight = np.array([[[0., 17., 255.]]])
    assert stretch_to_uint8(eight).tolist() == [[[0, 17, 255]]]


def test_sample_names():
    assert sample_name(dict(img_path=['/d/Images/lasvegas/imgs_1_rect/'
                                      'B02.tif']), 0) == 'lasvegas'
    assert sample_name(dict(img_path='/d/A/test_7.png'), 0) == 'test_7'
    assert sample_name(dict(), 3) == 'sample3'
    # DynamicEarthNet Planet: images of two cubes share the date name, the
    # labels do not
    planet = dict(img_path='/p/cube_a/PF-SR/2018-01-01.tif',
                  seg_map_path='/l/x/cube_a-2018_01_01.tif')
    assert sample_name(planet, 0) == 'cube_a-2018_01_01'
    assert sample_name(dict(img_path=planet['img_path'], seg_map_path=None),
                       0) == '2018-01-01'


class _Vis:
    def __init__(self):
        self.images = {}
        self.dataset_meta = dict(palette=[[0, 0, 0], [255, 0, 0]])

    def add_image(self, name, image, step=0):
        self.images[f'{name}_{step}'] = image


class _Runner:
    iter = 0

    def __init__(self):
        self.visualizer = _Vis()


def test_hook_saves_pred_and_rgb():
    sample = SegDataSample()
    sample.set_metainfo(dict(img_path=['/x/abudhabi/imgs_1_rect/B02.tif']))
    sample.pred_sem_seg = PixelData(data=torch.tensor([[[0, 1], [1, 0]]]))
    inputs = [torch.arange(20 * 4, dtype=torch.float32).reshape(20, 2, 2)]
    runner = _Runner()
    hook = MultiBandSegVisualizationHook(draw=True, rgb_channels=(12, 11, 10))
    hook.after_test_iter(runner, 0, dict(inputs=inputs), [sample])
    imgs = runner.visualizer.images
    assert sorted(imgs) == ['abudhabi_pred_0', 'abudhabi_rgb_0']
    assert imgs['abudhabi_pred_0'][0, 1].tolist() == [255, 0, 0]
    assert imgs['abudhabi_pred_0'][0, 0].tolist() == [0, 0, 0]
    # channels 12, 11, 10 hold 48..51, 44..47, 40..43: 8-bit, cast as is
    assert imgs['abudhabi_rgb_0'][0, 0].tolist() == [48, 44, 40]
    off = MultiBandSegVisualizationHook(draw=False)
    runner2 = _Runner()
    off.after_test_iter(runner2, 0, dict(inputs=inputs), [sample])
    assert runner2.visualizer.images == {}
