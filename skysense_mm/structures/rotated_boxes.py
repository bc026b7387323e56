"""Small numpy helpers for rotated boxes, shared by the DIOR-R and FAIR1M
readers of SkySense (https://arxiv.org/abs/2312.10115) benchmarks.

The conversions go through MMRotate's ``qbox2rbox`` / ``rbox2qbox`` and
``RotatedBoxes.regularize_boxes``; these wrappers only take and return numpy
arrays of any leading shape.
"""
import numpy as np
import torch

__all__ = ['polygon_area', 'qboxes_to_rboxes', 'rboxes_to_qboxes']


def polygon_area(points: np.ndarray) -> float:
    """Unsigned shoelace area of one polygon.

    Args:
        points (np.ndarray): ``(N, 2)`` points or flat ``(2N,)``
            ``x1, y1, x2, y2, ...``.

    Returns:
        float: The area.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) -
                           np.dot(y, np.roll(x, -1))))


def qboxes_to_rboxes(qboxes: np.ndarray,
                     angle_version: str = 'le90') -> np.ndarray:
    """Four corners ``(N, 8)`` -> rotated boxes ``(N, 5)``.

    ``(cx, cy, w, h, theta)`` of the minimum-area rectangle (MMRotate's
    ``qbox2rbox``), the angle regularised to ``angle_version`` (le90: w the
    long side, theta in radians in [-pi/2, pi/2)).

    Args:
        qboxes (np.ndarray): corners, any shape with 8N values.
        angle_version (str): MMRotate angle convention. Defaults to 'le90'.

    Returns:
        np.ndarray: ``(N, 5)`` float32.
    """
    from mmrotate.structures.bbox import RotatedBoxes, qbox2rbox
    q = torch.as_tensor(np.asarray(qboxes, dtype=np.float32).reshape(-1, 8))
    if len(q) == 0:
        return np.zeros((0, 5), np.float32)
    rboxes = RotatedBoxes(qbox2rbox(q)).regularize_boxes(angle_version)
    return rboxes.numpy().astype(np.float32)


def rboxes_to_qboxes(rboxes: np.ndarray) -> np.ndarray:
    """Rotated boxes ``(N, 5)`` -> corners ``(N, 8)`` (MMRotate's
    ``rbox2qbox``).

    Args:
        rboxes (np.ndarray): ``(cx, cy, w, h, theta)``, any shape with 5N
            values.

    Returns:
        np.ndarray: ``(N, 8)`` float32.
    """
    from mmrotate.structures.bbox import rbox2qbox
    r = torch.as_tensor(np.asarray(rboxes, dtype=np.float32).reshape(-1, 5))
    return rbox2qbox(r).numpy()
