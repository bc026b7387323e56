"""Loading transforms for bi-temporal change detection.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115) evaluates change
detection on LEVIR-CD and OSCD (§4, Tab. 2c). The bi-temporal input is packed
the mmseg / open-cd way: :class:`LoadBiTemporalImageFromFile` loads the two
dates into ``img`` and ``img2`` and mmseg's ``ConcatCDInput`` concatenates
them channel-wise into one ``(H, W, 2C)`` image, so every geometric transform
afterwards (crop, flip) treats both dates alike.

mmseg 1.2.2 has ``LoadMultipleRSImageFromFile`` but it needs GDAL, which is
not a dependency here; these transforms read PNG/JPEG with mmcv and GeoTIFF
band files with rasterio.
"""
import os.path as osp
from typing import Dict, Sequence, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from skysense_mm.registry import TRANSFORMS

__all__ = ['LoadBiTemporalImageFromFile', 'LoadChangeLabelFromFile',
           'read_band_stack']

PathOrBands = Union[str, Sequence[str]]


def read_band_stack(paths: Sequence[str]) -> np.ndarray:
    """Read single-band rasters and stack them into ``(H, W, len(paths))``.

    Args:
        paths (Sequence[str]): One single-band GeoTIFF per output channel.

    Returns:
        np.ndarray: float32 array ``(H, W, C)``.

    Raises:
        ValueError: A file holds more than one band, or its size differs
            from the first file's (the message names the file).
    """
    import rasterio  # local: only the multispectral datasets need it
    bands = []
    for path in paths:
        try:
            with rasterio.open(path) as src:
                if src.count != 1:
                    raise ValueError(
                        f'{path}: expected a single-band raster, found '
                        f'{src.count} bands')
                band = src.read(1)
        except rasterio.errors.RasterioIOError as err:
            raise OSError(f'{path}: unreadable raster ({err})') from err
        if bands and band.shape != bands[0].shape:
            raise ValueError(
                f'{path}: band size {band.shape} differs from {paths[0]} '
                f'{bands[0].shape}')
        bands.append(band.astype(np.float32))
    return np.stack(bands, axis=-1)


def _read_image(path: PathOrBands, color_type: str,
                channel_order: str) -> np.ndarray:
    if not isinstance(path, str):
        return read_band_stack(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: image file not found')
    img = mmcv.imread(path, flag=color_type, channel_order=channel_order)
    if img is None:
        raise OSError(f'{path}: unreadable image')
    return img


@TRANSFORMS.register_module()
class LoadBiTemporalImageFromFile(BaseTransform):
    """Load the two dates of a change-detection sample.

    Required keys: ``img_path``, ``img_path2`` — each a file path (PNG /
    JPEG / TIFF read by mmcv) or a list of single-band rasters stacked in
    list order (OSCD band files, read by rasterio).

    Added keys: ``img``, ``img2`` (``(H, W, C)``), ``img_shape``,
    ``ori_shape``.

    Args:
        to_float32 (bool): Cast both images to float32. Defaults to True.
        color_type (str): mmcv ``imread`` flag for single files. Defaults to
            ``'color'``.
        channel_order (str): ``'rgb'`` (default; the data preprocessor then
            needs ``bgr_to_rgb=False``) or ``'bgr'``.
    """

    def __init__(self,
                 to_float32: bool = True,
                 color_type: str = 'color',
                 channel_order: str = 'rgb') -> None:
        self.to_float32 = to_float32
        self.color_type = color_type
        self.channel_order = channel_order

    def transform(self, results: Dict) -> Dict:
        """Load ``img`` and ``img2``.

        Args:
            results (dict): Needs ``img_path`` and ``img_path2``.

        Returns:
            dict: ``results`` with both images.

        Raises:
            ValueError: The two dates differ in size (naming both files).
        """
        imgs = [
            _read_image(results[key], self.color_type, self.channel_order)
            for key in ('img_path', 'img_path2')
        ]
        if imgs[0].shape != imgs[1].shape:
            name_a, name_b = (_name(results[k])
                              for k in ('img_path', 'img_path2'))
            raise ValueError(f'{name_b}: shape {imgs[1].shape} differs from '
                             f'image A {name_a} {imgs[0].shape}')
        if self.to_float32:
            imgs = [img.astype(np.float32) for img in imgs]
        results['img'], results['img2'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        results['ori_shape'] = imgs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, '
                f'channel_order={self.channel_order!r})')


def _name(path: PathOrBands) -> str:
    return path if isinstance(path, str) else osp.dirname(path[0])


@TRANSFORMS.register_module()
class LoadChangeLabelFromFile(BaseTransform):
    """Load a binary change mask and map its values to class indices.

    LEVIR-CD and OSCD store change masks as 8-bit images with 0 = no change
    and 255 = change; this maps them to 0 / 1 (``value_map``). Any other
    value, or a mask whose size differs from the loaded image, raises an
    error naming the file — a wrong mask never reaches the metric.

    Required keys: ``seg_map_path``, ``img_shape`` (load the images first).
    Added keys: ``gt_seg_map`` (uint8 ``(H, W)``), ``seg_fields``.

    Args:
        value_map (dict): Stored value -> class index. Defaults to
            ``{0: 0, 255: 1}``.
    """

    def __init__(self, value_map: Dict[int, int] = None) -> None:
        self.value_map = dict(value_map or {0: 0, 255: 1})

    def transform(self, results: Dict) -> Dict:
        """Load and check ``gt_seg_map``.

        Args:
            results (dict): Needs ``seg_map_path`` and ``img_shape``.

        Returns:
            dict: ``results`` with ``gt_seg_map``.

        Raises:
            FileNotFoundError / OSError: Missing or unreadable mask.
            ValueError: Values outside ``value_map`` or size mismatch.
        """
        path = results['seg_map_path']
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: change mask not found')
        label = mmcv.imread(path, flag='unchanged')
        if label is None:
            raise OSError(f'{path}: unreadable change mask')
        if label.ndim == 3:  # RGB(A) masks: all channels must agree
            if not (label[..., :3] == label[..., :1]).all():
                raise ValueError(
                    f'{path}: colour change mask (channels differ); '
                    'expected a single-channel 0/255 mask')
            label = label[..., 0]
        values = np.unique(label)
        bad = sorted(set(values.tolist()) - set(self.value_map))
        if bad:
            raise ValueError(
                f'{path}: label values {bad[:10]} outside the allowed '
                f'{sorted(self.value_map)}')
        if label.shape[:2] != tuple(results['img_shape'][:2]):
            raise ValueError(
                f'{path}: label size {label.shape[:2]} differs from image '
                f'size {tuple(results["img_shape"][:2])}')
        out = np.zeros(label.shape, dtype=np.uint8)
        for old, new in self.value_map.items():
            out[label == old] = new
        results['gt_seg_map'] = out
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(value_map={self.value_map})'
