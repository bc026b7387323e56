"""Colour-mapped predictions of multi-band and bi-temporal inputs.

MMSegmentation's ``SegVisualizationHook`` re-reads ``img_path`` as one
8-bit image, which fails for OSCD (``img_path`` is a list of 13 Sentinel-2
band files per date) and DynamicEarthNet-S2 (a 12-band GeoTIFF), and shows
only date A for LEVIR-CD. This hook works
from the packed input tensor instead: for every test (or val) sample it
saves, through the runner's visualizer (``<save_dir>/vis_data/vis_image``):

* ``<name>_pred_<step>.png``: the predicted class map, each class in its
  dataset palette colour;
* ``<name>_rgb_<step>.png`` (when ``rgb_channels`` is given): an RGB of the
  chosen input channels (e.g. B4/B3/B2 of the second date), 2-98 percentile
  stretched unless the values already are 8-bit.

``<name>`` is the OSCD city (the folder above the band folder), else the
file stem of the label (unique per DynamicEarthNet cube and month, where
Planet images of different cubes share their date names), else of the
(date-A) image. ``tools/test.py --show-dir DIR`` switches the hook
on (``draw=True``) and sets the visualizer's ``save_dir``.

SkySense: https://arxiv.org/abs/2312.10115
"""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook

from skysense_mm.registry import HOOKS

__all__ = ['MultiBandSegVisualizationHook', 'colorize', 'stretch_to_uint8']


def colorize(label: np.ndarray, palette: Sequence) -> np.ndarray:
    """Class map (H, W) -> RGB (H, W, 3) uint8; unknown values stay black.

    Args:
        label (np.ndarray): integer class indices.
        palette (Sequence): RGB colour per class.

    Returns:
        np.ndarray: the colour image.
    """
    lut = np.zeros((256, 3), np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8)
    return lut[np.clip(label, 0, 255).astype(np.int64)]


def stretch_to_uint8(img: np.ndarray) -> np.ndarray:
    """(H, W, C) array -> uint8, per-channel 2-98 percentile stretch.

    Args:
        img (np.ndarray): image; 8-bit values (integers in 0-255, any
            dtype) are only cast, not stretched.

    Returns:
        np.ndarray: uint8 image.
    """
    if img.dtype == np.uint8:
        return img
    if img.size and img.min() >= 0 and img.max() <= 255 and np.all(
            img == np.round(img)):
        return img.astype(np.uint8)  # 8-bit data held in another dtype
    img = img.astype(np.float64)
    lo = np.percentile(img, 2, axis=(0, 1))
    hi = np.percentile(img, 98, axis=(0, 1))
    scaled = (img - lo) / np.maximum(hi - lo, 1e-6)
    return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8)


def sample_name(metainfo: dict, index: int) -> str:
    """OSCD city / label stem / image stem of a sample (else its index)."""
    path = metainfo.get('img_path')
    if isinstance(path, (list, tuple)) and path:
        # <city>/imgs_1_rect/B01.tif -> <city>
        return osp.basename(osp.dirname(osp.dirname(path[0])))
    for key in ('seg_map_path', 'img_path'):
        path = metainfo.get(key)
        if isinstance(path, str):
            return osp.splitext(osp.basename(path))[0]
    return f'sample{index}'


@HOOKS.register_module()
class MultiBandSegVisualizationHook(Hook):
    """Save colour-mapped predictions (+ an RGB view) of multi-band inputs.

    Args:
        draw (bool): whether to save anything (``--show-dir`` sets True).
        interval (int): save every ``interval`` iterations.
        rgb_channels (Sequence[int], optional): input channels shown as RGB
            (indices into the packed input, e.g. ``(12, 11, 10)`` = B4, B3,
            B2 of date 2 of a 2 x 10-band OSCD input). None: no RGB image.
        palette (Sequence, optional): RGB per class; None takes the test
            dataset's ``metainfo['palette']``.
    """

    priority = 'LOW'

    def __init__(self,
                 draw: bool = False,
                 interval: int = 1,
                 rgb_channels: Optional[Sequence[int]] = None,
                 palette: Optional[Sequence] = None):
        self.draw = draw
        self.interval = interval
        self.rgb_channels = (tuple(rgb_channels)
                             if rgb_channels is not None else None)
        self.palette = palette
        self._count = 0

    def _palette(self, runner):
        if self.palette is not None:
            return self.palette
        meta = getattr(runner.visualizer, 'dataset_meta', None) or {}
        if meta.get('palette') is None:
            for loader in ('test_dataloader', 'val_dataloader'):
                ds = getattr(getattr(runner, '_' + loader, None), 'dataset',
                             None)
                if ds is not None and hasattr(ds, 'metainfo'):
                    meta = ds.metainfo
                    break
        if meta.get('palette') is None:
            raise ValueError(
                'MultiBandSegVisualizationHook: no palette given and the dataset '
                'metainfo has none')
        return meta['palette']

    def _save(self, runner, batch_idx, data_batch, outputs):
        if not self.draw or not self.every_n_inner_iters(
                batch_idx, self.interval):
            return
        palette = self._palette(runner)
        inputs = data_batch.get('inputs') if isinstance(data_batch,
                                                        dict) else None
        for i, out in enumerate(outputs):
            name = sample_name(out.metainfo, self._count)
            self._count += 1
            pred = out.pred_sem_seg.data[0].cpu().numpy()
            runner.visualizer.add_image(
                f'{name}_pred', colorize(pred, palette), step=runner.iter)
            if self.rgb_channels is None or inputs is None:
                continue
            x = inputs[i]
            if x.shape[0] <= max(self.rgb_channels):
                raise ValueError(
                    f'MultiBandSegVisualizationHook: rgb_channels '
                    f'{self.rgb_channels} but {name} has {x.shape[0]} '
                    'input channels')
            rgb = x[list(self.rgb_channels)].permute(1, 2, 0)
            rgb = stretch_to_uint8(rgb.cpu().numpy())
            if rgb.shape[:2] != pred.shape:
                rgb = torch.nn.functional.interpolate(
                    torch.from_numpy(rgb).permute(2, 0, 1)[None].float(),
                    size=pred.shape, mode='nearest')[0].permute(
                        1, 2, 0).numpy().astype(np.uint8)
            runner.visualizer.add_image(f'{name}_rgb', rgb, step=runner.iter)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        """Save the samples of one val iteration."""
        self._save(runner, batch_idx, data_batch, outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        """Save the samples of one test iteration."""
        self._save(runner, batch_idx, data_batch, outputs)
