"""Checked loading of semantic segmentation labels for the SkySense
benchmarks (https://arxiv.org/abs/2312.10115).

mmseg's ``LoadAnnotations`` silently accepts a label whose size differs from
its image or whose values lie outside the class set, and fails with an
``AttributeError`` on an unreadable file. A wrong label then yields a wrong
metric instead of an error. :class:`LoadCheckedSegAnnotations` keeps mmseg's
behaviour (``reduce_zero_label``, ``label_map``) and adds: decoding of
RGB colour-coded labels through a palette (iSAID devkit, ISPRS), and clear
errors naming the file for unreadable files, size mismatches and label values
outside ``range(num_classes)`` plus the ignore index.
"""
from typing import Dict, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations

from skysense_mm.registry import TRANSFORMS


def rgb_to_index(rgb: np.ndarray,
                 palette: Dict[Tuple[int, int, int], int],
                 unknown_value: Optional[int] = None,
                 filename: str = '<array>') -> np.ndarray:
    """Map an RGB colour-coded label to class indices.

    Args:
        rgb (np.ndarray): ``(H, W, 3)`` uint8 label in RGB channel order.
        palette (dict): ``{(r, g, b): index}``.
        unknown_value (int, optional): Value for colours not in the palette.
            None raises a ``ValueError`` naming ``filename`` and the colours.
        filename (str): Used in error messages.

    Returns:
        np.ndarray: ``(H, W)`` uint8 index map.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'{filename}: expected an RGB colour label (H, W, 3),'
                         f' got shape {rgb.shape}')
    code = (rgb[..., 0].astype(np.int64) << 16) | (
        rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2].astype(np.int64)
    keys = np.array([(r << 16) | (g << 8) | b for (r, g, b) in palette],
                    dtype=np.int64)
    values = np.array(list(palette.values()), dtype=np.uint8)
    order = np.argsort(keys)
    keys, values = keys[order], values[order]
    pos = np.clip(np.searchsorted(keys, code), 0, len(keys) - 1)
    known = keys[pos] == code
    out = values[pos]
    if not known.all():
        if unknown_value is None:
            bad = np.unique(code[~known])[:5]
            colours = [(int(c >> 16) & 255, int(c >> 8) & 255, int(c) & 255)
                       for c in bad]
            raise ValueError(
                f'{filename}: {int((~known).sum())} label pixels have colours '
                f'outside the class palette, e.g. {colours}')
        out[~known] = unknown_value
    return out


def check_label_values(label: np.ndarray, num_classes: int,
                       ignore_index: int, filename: str) -> None:
    """Raise a ``ValueError`` naming ``filename`` if ``label`` holds values
    other than ``0..num_classes-1`` and ``ignore_index``.

    Args:
        label (np.ndarray): Index map.
        num_classes (int): Number of classes.
        ignore_index (int): The ignore value.
        filename (str): Used in the error message.
    """
    values = np.unique(label)
    bad = [int(v) for v in values
           if not (0 <= v < num_classes or v == ignore_index)]
    if bad:
        raise ValueError(
            f'{filename}: label values {bad} are outside the class set '
            f'0..{num_classes - 1} (ignore {ignore_index})')


@TRANSFORMS.register_module()
class LoadCheckedSegAnnotations(LoadAnnotations):
    """mmseg ``LoadAnnotations`` with colour decoding and input checks.

    Used by the iSAID and Potsdam benchmarks of SkySense
    (https://arxiv.org/abs/2312.10115). Run it after ``LoadImageFromFile`` so
    the image size can be compared.

    Args:
        palette (Sequence[Sequence[int]], optional): RGB colour of class
            ``i`` at position ``i``. Given, or set per sample as
            ``results['label_palette']`` by a dataset reading colour labels
            (``ISAIDDataset(label_format='color')``), the label file is read
            as RGB and decoded through it (before ``reduce_zero_label`` /
            ``label_map``).
        unknown_color_value (int, optional): Index for colours outside the
            palette; None (default) raises an error naming the file.
        num_classes (int, optional): Number of classes for the value check;
            None takes ``results['num_classes']`` set by our datasets, and
            skips the check if that is absent too.
        ignore_index (int): Value allowed besides the classes. Defaults to
            255.
        **kwargs: Passed to mmseg ``LoadAnnotations`` (``reduce_zero_label``,
            ``imdecode_backend``, ``backend_args``).
    """

    def __init__(self,
                 palette: Optional[Sequence[Sequence[int]]] = None,
                 unknown_color_value: Optional[int] = None,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.palette = None if palette is None else self._to_dict(palette)
        self.unknown_color_value = unknown_color_value
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    @staticmethod
    def _to_dict(palette: Sequence[Sequence[int]]) -> dict:
        return {
            tuple(int(c) for c in colour): i
            for i, colour in enumerate(palette)
        }

    def _read(self, path: str, palette: Optional[dict]) -> np.ndarray:
        try:
            data = fileio.get(path, backend_args=self.backend_args)
            flag = 'color' if palette is not None else 'unchanged'
            label = mmcv.imfrombytes(
                data, flag=flag, channel_order='rgb',
                backend=self.imdecode_backend)
        except Exception as exc:  # noqa: BLE001 (re-raised with the name)
            raise ValueError(f'{path}: unreadable label file ({exc})') from exc
        if label is None:
            raise ValueError(f'{path}: unreadable label file')
        if palette is not None:
            return rgb_to_index(label, palette, self.unknown_color_value, path)
        if label.ndim == 3:
            raise ValueError(
                f'{path}: expected a single-channel index label, got '
                f'{label.shape[2]} channels (a colour label needs `palette`)')
        if label.dtype != np.uint8 and label.size and label.max() > 255:
            raise ValueError(f'{path}: label values up to {label.max()} do '
                             'not fit the uint8 class indices')
        return label.astype(np.uint8)

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        palette = self.palette
        if palette is None and results.get('label_palette') is not None:
            palette = self._to_dict(results['label_palette'])
        label = self._read(path, palette)
        shape = results.get('ori_shape', results.get('img_shape'))
        if shape is not None and tuple(label.shape[:2]) != tuple(shape[:2]):
            raise ValueError(
                f'{path}: label size {label.shape[:2]} differs from the image '
                f'size {tuple(shape[:2])} of {results.get("img_path")}')
        if self.reduce_zero_label is None:
            self.reduce_zero_label = results['reduce_zero_label']
        if self.reduce_zero_label != results.get('reduce_zero_label',
                                                 self.reduce_zero_label):
            raise ValueError(
                f'{path}: the pipeline has reduce_zero_label='
                f'{self.reduce_zero_label} but the dataset '
                f'{results["reduce_zero_label"]}')
        if self.reduce_zero_label:
            label = label.copy()
            label[label == 0] = 255
            label = label - 1
            label[label == 254] = 255
        if results.get('label_map', None) is not None:
            src = label.copy()
            for old_id, new_id in results['label_map'].items():
                label[src == old_id] = new_id
        num_classes = self.num_classes or results.get('num_classes')
        if num_classes is not None:
            check_label_values(label, num_classes,
                               results.get('ignore_index', self.ignore_index),
                               path)
        results['gt_seg_map'] = label
        results['seg_fields'].append('gt_seg_map')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(palette={self.palette is not None}'
                f', num_classes={self.num_classes}, '
                f'reduce_zero_label={self.reduce_zero_label})')
