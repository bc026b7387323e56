"""Loading of DynamicEarthNet inputs and one-hot labels for the SkySense
benchmark (https://arxiv.org/abs/2312.10115).

See ``skysense_mm.DynamicEarthNetDataset`` for the layout. Errors name the
file: a missing / unreadable raster, a wrong band count, label values other
than 0 and 255, or a label pixel with two classes set.
"""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from skysense_mm.registry import TRANSFORMS
from ..dynamic_earthnet import (S2_STORED_BANDS, SKYSENSE_S2_BANDS,
                                s2_band_indices)

#: Planet PF-SR stores B, G, R, NIR; the official loader reads bands
#: 3, 2, 1, 4 (1-based) to get R, G, B, NIR.
PLANET_TO_RGBN = (2, 1, 0, 3)
#: One-hot label bands: the 6 evaluated classes, then snow & ice.
NUM_LABEL_BANDS = 7


def read_raster(path: str, num_bands: Optional[int] = None) -> np.ndarray:
    """Read a GeoTIFF as ``(C, H, W)``, checking the band count.

    Args:
        path (str): Raster file.
        num_bands (int, optional): Required band count.

    Returns:
        np.ndarray: The bands, in file order and dtype.
    """
    import rasterio  # local: only the multispectral datasets need it
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: raster file not found')
    try:
        with rasterio.open(path) as src:
            if num_bands is not None and src.count != num_bands:
                raise ValueError(f'{path}: expected {num_bands} bands, found '
                                 f'{src.count}')
            return src.read()
    except rasterio.errors.RasterioIOError as err:
        raise OSError(f'{path}: unreadable raster ({err})') from err


def decode_onehot_label(onehot: np.ndarray,
                        filename: str = '<array>',
                        num_classes: int = 6,
                        ignore_index: int = 255) -> np.ndarray:
    """Decode a DynamicEarthNet 7-band one-hot label to class indices.

    Band ``k`` is 255 where class ``k`` is present. Classes ``0 ..
    num_classes - 1`` are kept; the other bands (snow & ice) and pixels with
    no band set become ``ignore_index``, as the official loader does.

    Args:
        onehot (np.ndarray): ``(7, H, W)`` label.
        filename (str): For error messages.
        num_classes (int): Evaluated classes. Defaults to 6.
        ignore_index (int): Defaults to 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 index map.

    Raises:
        ValueError: values other than 0 and 255, or a pixel with several
            classes set.
    """
    if onehot.ndim != 3 or onehot.shape[0] != NUM_LABEL_BANDS:
        raise ValueError(f'{filename}: expected a {NUM_LABEL_BANDS}-band '
                         f'one-hot label, got shape {onehot.shape}')
    if ((onehot != 0) & (onehot != 255)).any():  # cheap test, then detail
        bad = np.setdiff1d(np.unique(onehot), [0, 255])
        raise ValueError(f'{filename}: one-hot label values must be 0 or 255,'
                         f' found {bad[:5].tolist()}')
    on = onehot == 255
    count = on.sum(axis=0)
    if (count > 1).any():
        y, x = np.argwhere(count > 1)[0]
        raise ValueError(
            f'{filename}: {int((count > 1).sum())} label pixels have several '
            f'classes set, e.g. (row {y}, col {x}) has bands '
            f'{np.flatnonzero(on[:, y, x]).tolist()}')
    index = on.argmax(axis=0).astype(np.uint8)
    index[(count == 0) | (index >= num_classes)] = ignore_index
    return index


@TRANSFORMS.register_module()
class LoadDynamicEarthNetImage(BaseTransform):
    """Read the input rasters of a ``DynamicEarthNetDataset`` sample.

    Planet (``results['modality'] == 'planet'``): each frame of
    ``frame_paths`` must have 4 bands (B, G, R, NIR), reordered to R, G, B,
    NIR; the frames are stacked along channels, ``(H, W, 4 * T)`` frame by
    frame, or reduced to one ``(H, W, 4)`` image with ``temporal_reduce``.

    S2: the composite must have ``len(stored_bands)`` bands; the ``bands``
    are kept, in that order (default: the 10 bands of the SkySense S2
    encoder, B2-B8, B8A, B11, B12); with ``resize_to_label`` the image is
    resampled bilinearly to the label raster's size so that predictions are
    made on the official evaluation grid.

    Sets ``img`` (float32), ``img_shape``, ``ori_shape``.

    Args:
        temporal_reduce (str, optional): None (stack), ``'mean'`` or
            ``'median'`` over the frames. Defaults to None.
        stored_bands (Sequence[str]): S2 band order in the file.
        bands (Sequence[str]): S2 bands to keep.
        resize_to_label (bool): Resample S2 to the label grid. Defaults to
            True.
        label_size (tuple[int, int]): ``(H, W)`` of the label grid when the
            label file is absent (a split without public labels). Defaults
            to (1024, 1024), the official tile size.
    """

    def __init__(self,
                 temporal_reduce: Optional[str] = None,
                 stored_bands: Sequence[str] = S2_STORED_BANDS,
                 bands: Sequence[str] = SKYSENSE_S2_BANDS,
                 resize_to_label: bool = True,
                 label_size: Sequence[int] = (1024, 1024)) -> None:
        if temporal_reduce not in (None, 'mean', 'median'):
            raise ValueError("temporal_reduce must be None, 'mean' or "
                             f"'median', got {temporal_reduce!r}")
        self.temporal_reduce = temporal_reduce
        self.stored_bands = tuple(stored_bands)
        self.bands = tuple(bands)
        self.band_idx = s2_band_indices(self.stored_bands, self.bands)
        self.resize_to_label = resize_to_label
        self.label_size = tuple(label_size)

    def _planet(self, paths: Sequence[str]) -> np.ndarray:
        frames = []
        for path in paths:
            img = read_raster(path, 4)[list(PLANET_TO_RGBN)]
            if frames and img.shape != frames[0].shape:
                raise ValueError(f'{path}: size {img.shape[1:]} differs from '
                                 f'{paths[0]} {frames[0].shape[1:]}')
            frames.append(img.astype(np.float32))
        stack = np.stack(frames)  # (T, 4, H, W)
        if self.temporal_reduce == 'mean':
            stack = stack.mean(axis=0, keepdims=True)
        elif self.temporal_reduce == 'median':
            stack = np.median(stack, axis=0, keepdims=True)
        t, c, h, w = stack.shape
        return stack.reshape(t * c, h, w).transpose(1, 2, 0)

    def _s2(self, path: str, label_path: Optional[str]) -> np.ndarray:
        img = read_raster(path, len(self.stored_bands))[self.band_idx]
        img = img.astype(np.float32).transpose(1, 2, 0)
        if self.resize_to_label:
            size = self.label_size[::-1]
            if label_path is not None and osp.isfile(label_path):
                import rasterio
                try:
                    with rasterio.open(label_path) as src:
                        size = (src.width, src.height)
                except rasterio.errors.RasterioIOError as err:
                    raise OSError(f'{label_path}: unreadable label ({err})') \
                        from err
            if size != (img.shape[1], img.shape[0]):
                img = mmcv.imresize(img, size, interpolation='bilinear')
        return img

    def transform(self, results: dict) -> dict:
        """Load the image.

        Args:
            results (dict): A ``DynamicEarthNetDataset`` sample.

        Returns:
            dict: With ``img``, ``img_shape``, ``ori_shape``.
        """
        paths = results.get('frame_paths') or [results['img_path']]
        if results.get('modality', 'planet') == 's2':
            img = self._s2(paths[0], results.get('seg_map_path'))
        else:
            img = self._planet(paths)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(temporal_reduce='
                f'{self.temporal_reduce!r}, bands={self.bands}, '
                f'resize_to_label={self.resize_to_label})')


@TRANSFORMS.register_module()
class LoadDynamicEarthNetAnnotations(BaseTransform):
    """Read a 7-band one-hot DynamicEarthNet label as class indices 0-5
    (snow & ice and empty pixels -> 255), see
    :func:`decode_onehot_label`. Run after ``LoadDynamicEarthNetImage``:
    a size differing from the image is an error naming both files.

    Args:
        ignore_index (int): Defaults to 255.
    """

    def __init__(self, ignore_index: int = 255) -> None:
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        """Load the label.

        Args:
            results (dict): A ``DynamicEarthNetDataset`` sample.

        Returns:
            dict: With ``gt_seg_map`` added to ``seg_fields``.
        """
        path = results['seg_map_path']
        label = decode_onehot_label(
            read_raster(path, NUM_LABEL_BANDS), path,
            results.get('num_classes', 6), self.ignore_index)
        shape = results.get('ori_shape', results.get('img_shape'))
        if shape is not None and tuple(label.shape) != tuple(shape[:2]):
            raise ValueError(
                f'{path}: label size {label.shape} differs from the image '
                f'size {tuple(shape[:2])} of {results.get("img_path")}')
        results['gt_seg_map'] = label
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ignore_index={self.ignore_index})'
