"""Sliding-window tiling used by the dataset converters of the SkySense
benchmarks (https://arxiv.org/abs/2312.10115).
"""
from typing import List, Tuple

import numpy as np


def window_starts(length: int, size: int, stride: int) -> List[int]:
    """Start offsets of windows of ``size`` every ``stride`` along an axis
    of ``length``, the last one shifted inward to end at ``length``
    (mmseg's iSAID rule), duplicates removed.

    Args:
        length (int): Axis length, ``>= size`` (pad first).
        size (int): Window size.
        stride (int): Step between window starts.

    Returns:
        list[int]: Sorted unique start offsets.
    """
    if length < size:
        raise ValueError(f'axis length {length} < window {size}: pad first')
    if stride <= 0:
        raise ValueError(f'stride must be positive, got {stride}')
    return sorted({min(s, length - size) for s in range(0, length, stride)})


def pad_to(array: np.ndarray, size: int, value: int) -> np.ndarray:
    """Pad the bottom/right of an ``(H, W[, C])`` array to at least
    ``size`` x ``size`` with ``value``.

    Args:
        array (np.ndarray): Image or label.
        size (int): Minimum height and width.
        value (int): Pad value.

    Returns:
        np.ndarray: The padded array (the input itself if large enough).
    """
    h, w = array.shape[:2]
    ph, pw = max(size - h, 0), max(size - w, 0)
    if ph == 0 and pw == 0:
        return array
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pad, constant_values=value)


def tile_boxes(height: int, width: int, size: int,
               stride: int) -> List[Tuple[int, int, int, int]]:
    """All windows ``(y0, y1, x0, x1)`` covering a ``height`` x ``width``
    array, rows outer, columns inner.

    Args:
        height (int): Array height (``>= size``).
        width (int): Array width (``>= size``).
        size (int): Window size.
        stride (int): Step between windows.

    Returns:
        list[tuple]: The windows.
    """
    return [(y, y + size, x, x + size)
            for y in window_starts(height, size, stride)
            for x in window_starts(width, size, stride)]
