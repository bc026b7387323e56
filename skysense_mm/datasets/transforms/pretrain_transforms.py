"""Pre-training augmentations of SkySense.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.3 and §4.1: HR
multi-crop with Gaussian blur and solarization (DINO recipe), S2 / S1 random
fixed-length subsequences and random date disturbance.

The transforms run on the *loaded sample* dict of the data contract (``hr``
``(H, W, 3)`` float32 RGB 0..255, ``s2`` ``(T, 10, h, w)``, ``s2_valid``
``(T, h, w)``, ``s2_doy`` ``(T,)``, the same for ``s1``, ``latlon``,
``sample_id``) with ``h = H / 32``, and the usual pipeline is::

    pipeline = [
        dict(type='skysense_mm.MultiViewCrop', global_size=128,
             local_size=64, num_local=2),
        dict(type='skysense_mm.RandomViewFlipRotate'),
        dict(type='skysense_mm.HRViewColorJitter'),
        dict(type='skysense_mm.HRViewGaussianBlur'),
        dict(type='skysense_mm.HRViewSolarize'),
        dict(type='skysense_mm.RandomSubsequence', length=4),
        dict(type='skysense_mm.DateJitter', max_days=5),
        dict(type='skysense_mm.PackSkySensePretrainInputs'),
    ]

Intermediate keys (between the transforms): ``hr_views`` (list of V
``(Hv, Wv, 3)`` float32, first the 2 global views), ``view_boxes`` ``(V, 4)``
float32 ``x1, y1, x2, y2`` in the original HR pixel frame, ``view_flips``
``(V,)`` bool, ``view_rot90`` ``(V,)`` int64, ``num_global_views`` (2) and,
per series ``m`` in (``s2``, ``s1``) the sample has: ``m_views`` (2 crops
``(T, C, hv, wv)``, one per global view), ``m_valid_views`` (``(T, hv, wv)``
bool), after :class:`RandomSubsequence` also ``m_doy_views`` (``(T',)``
int64), ``m_mask_views`` (``(T',)`` bool, False = padding) and
``m_time_index_views`` (``(T',)`` index into the original series, -1 for
padding).

Geometry. A view is ``crop(box) -> resize(out size) -> horizontal flip (if
view_flips) -> np.rot90(k = view_rot90)`` (rotation over the two spatial axes,
counter-clockwise as :func:`numpy.rot90`). The two global boxes are snapped
to the 32-px HR grid (the S2 / S1 pixel grid), so the series crop of a global
view covers exactly the same ground as its HR crop (``box / 32``), is resized
to ``global_size / 32`` and gets the same flip and rotation: pixel ``(i, j)``
of the series view lies on HR feature cell ``(i, j)`` (stride 32) of the HR
view. :func:`view_correspondence` maps feature cells between any two views.
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from skysense_mm.registry import TRANSFORMS
from ..pretrain_format import PretrainSampleError

__all__ = [
    'MultiViewCrop', 'RandomViewFlipRotate', 'HRViewColorJitter',
    'HRViewGaussianBlur', 'HRViewSolarize', 'RandomSubsequence', 'DateJitter',
    'PackSkySensePretrainInputs', 'view_correspondence',
    'correspondence_to_grid', 'sample_crop_box', 'wrap_doy'
]

SERIES = ('s2', 's1')
NUM_GLOBAL_VIEWS = 2
DAYS_PER_YEAR = 365


def _where(results: dict) -> str:
    """``sample '<id>'`` for error messages."""
    return f"sample {results.get('sample_id', '<no sample_id>')!r}"


def _bad(results: dict, field: str, reason: str) -> PretrainSampleError:
    """Per-sample data error, handled by the dataset's ``on_error`` policy.

    Names the sample's folder (``sample_dir``, else ``hr_path``, else the
    sample id) and the field.
    """
    path = results.get('sample_dir') or results.get('hr_path') or _where(
        results)
    if path != _where(results):
        reason = f'{reason} ({_where(results)})'
    return PretrainSampleError(path, field, reason)


def _pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """``int`` or ``(h, w)`` -> ``(h, w)`` of positive ints."""
    if isinstance(size, int):
        size = (size, size)
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f'{name} must be a positive int or (h, w), got '
                         f'{size}')
    return size


def _has(results: dict, key: str) -> bool:
    return results.get(key) is not None


def _require_views(results: dict, name: str) -> None:
    if 'hr_views' not in results:
        raise KeyError(f'{name}: {_where(results)} has no `hr_views`; run '
                       'MultiViewCrop first')


def sample_crop_box(height: int,
                    width: int,
                    scale: Tuple[float, float],
                    ratio: Tuple[float, float],
                    grid: int = 1,
                    max_attempts: int = 10) -> np.ndarray:
    """Sample a random-resized-crop box (as torchvision), snapped to a grid.

    The box is sampled in units of ``grid`` pixels (area fraction in
    ``scale``, aspect ratio w/h log-uniform in ``ratio``), then multiplied by
    ``grid``; with ``grid=32`` its corners lie on the S2 / S1 pixel grid.
    After ``max_attempts`` misses it falls back to the largest centred box
    with a ratio in range. Uses ``np.random``.

    Args:
        height (int): Image height in pixels (a multiple of ``grid``).
        width (int): Image width in pixels (a multiple of ``grid``).
        scale (tuple[float, float]): Range of the box area fraction.
        ratio (tuple[float, float]): Range of the aspect ratio w / h.
        grid (int): Snap unit in pixels. Defaults to 1.
        max_attempts (int): Defaults to 10.

    Returns:
        np.ndarray: int64 ``(4,)`` ``x1, y1, x2, y2`` in pixels.
    """
    gh, gw = height // grid, width // grid
    area = gh * gw
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(max_attempts):
        target = area * np.random.uniform(scale[0], scale[1])
        aspect = math.exp(np.random.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= gw and 0 < h <= gh:
            y = np.random.randint(0, gh - h + 1)
            x = np.random.randint(0, gw - w + 1)
            break
    else:
        in_ratio = gw / gh
        if in_ratio < min(ratio):
            w, h = gw, max(1, int(round(gw / min(ratio))))
        elif in_ratio > max(ratio):
            h, w = gh, max(1, int(round(gh * max(ratio))))
        else:
            w, h = gw, gh
        y, x = (gh - h) // 2, (gw - w) // 2
    return np.array([x, y, x + w, y + h], dtype=np.int64) * grid


def _resize_hr(img: np.ndarray, size: Tuple[int, int],
               interpolation: str) -> np.ndarray:
    """Resize ``(h, w, 3)`` to ``size=(H, W)``; 'auto' = area when shrinking
    both sides, else bilinear (both keep linear ramps exact)."""
    if img.shape[:2] == size:
        return img.copy()
    if interpolation == 'auto':
        shrink = img.shape[0] >= size[0] and img.shape[1] >= size[1]
        interpolation = 'area' if shrink else 'bilinear'
    return mmcv.imresize(img, (size[1], size[0]), interpolation=interpolation)


def _resize_series(data: np.ndarray, valid: np.ndarray,
                   size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Resize a series crop ``(T, C, h, w)`` + valid ``(T, h, w)``.

    Invalid pixels are left out of the interpolation (normalised
    convolution: ``resize(x * m) / resize(m)``); an output pixel is valid if
    at least half of its interpolation weight comes from valid pixels, and
    invalid outputs are 0. Same size -> exact copy.
    """
    if data.shape[-2:] == size:
        return data.copy(), valid.copy()
    x = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    m = torch.from_numpy(valid.astype(np.float32))[:, None]
    antialias = data.shape[-2] > size[0] or data.shape[-1] > size[1]
    kw = dict(size=size,
              mode='bilinear',
              align_corners=False,
              antialias=antialias)
    num = F.interpolate(x * m, **kw)
    den = F.interpolate(m, **kw)
    out_valid = den >= 0.5
    out = torch.where(out_valid, num / den.clamp(min=1e-6),
                      torch.zeros_like(num))
    return out.numpy().astype(np.float32), out_valid[:, 0].numpy()


def _flip_rot(arr: np.ndarray, flip: bool, k: int,
              axes: Tuple[int, int]) -> np.ndarray:
    """Horizontal flip (last of ``axes``), then ``np.rot90(k)`` on ``axes``."""
    if flip:
        arr = np.flip(arr, axis=axes[1])
    if k % 4:
        arr = np.rot90(arr, k % 4, axes=axes)
    return np.ascontiguousarray(arr)


@TRANSFORMS.register_module()
class MultiViewCrop(BaseTransform):
    """DINO multi-crop of the HR image with matching S2 / S1 crops.

    Makes 2 global views and ``num_local`` local views of ``hr`` (random
    resized crops). The global boxes are snapped to the ``grid``-pixel HR
    grid (one S2 / S1 pixel per ``grid`` HR pixels, contract: ``h = H /
    32``) so that the S2 / S1 crop of a global view is exact (same ground,
    ``box / grid``); it is resized to ``global_size / grid`` (see
    :func:`_resize_series` for invalid pixels). Local views are HR only and
    not snapped. No flip / rotation here (``view_flips`` False,
    ``view_rot90`` 0): see :class:`RandomViewFlipRotate`.

    Sizes must suit the model: the series view ``global_size / grid`` must
    be a multiple of the S2 / S1 ViT patch size (e.g. tiny config, patch 4:
    ``global_size`` a multiple of 128).

    Args:
        global_size (int | tuple[int, int]): Output size of the global views
            (a multiple of ``grid``). Defaults to 128.
        local_size (int | tuple[int, int]): Output size of the local views.
            Defaults to 64.
        num_local (int): Number of local views. Defaults to 2.
        global_scale (tuple[float, float]): Area fraction of the global
            boxes. Defaults to (0.4, 1.0) (DINO).
        local_scale (tuple[float, float]): Area fraction of the local boxes.
            Defaults to (0.05, 0.4) (DINO).
        ratio (tuple[float, float]): Aspect ratio range w / h. Defaults to
            (3/4, 4/3).
        grid (int): HR pixels per S2 / S1 pixel. Defaults to 32.
        interpolation (str): HR resize: 'auto' (area when shrinking, else
            bilinear) or any ``mmcv.imresize`` mode. Defaults to 'auto'.
    """

    def __init__(self,
                 global_size: Union[int, Sequence[int]] = 128,
                 local_size: Union[int, Sequence[int]] = 64,
                 num_local: int = 2,
                 global_scale: Tuple[float, float] = (0.4, 1.0),
                 local_scale: Tuple[float, float] = (0.05, 0.4),
                 ratio: Tuple[float, float] = (3. / 4., 4. / 3.),
                 grid: int = 32,
                 interpolation: str = 'auto') -> None:
        self.global_size = _pair(global_size, 'global_size')
        self.local_size = _pair(local_size, 'local_size')
        if any(s % grid for s in self.global_size):
            raise ValueError(f'global_size {self.global_size} must be a '
                             f'multiple of grid={grid}')
        if num_local < 0:
            raise ValueError(f'num_local must be >= 0, got {num_local}')
        for name, rng in (('global_scale', global_scale),
                          ('local_scale', local_scale), ('ratio', ratio)):
            if len(rng) != 2 or not 0 < rng[0] <= rng[1]:
                raise ValueError(f'{name} must be (low, high) with '
                                 f'0 < low <= high, got {rng}')
        self.num_local = num_local
        self.global_scale = tuple(global_scale)
        self.local_scale = tuple(local_scale)
        self.ratio = tuple(ratio)
        self.grid = grid
        self.interpolation = interpolation
        self.series_size = (self.global_size[0] // grid,
                            self.global_size[1] // grid)

    def _check(self, results: dict) -> Tuple[int, int]:
        if not _has(results, 'hr'):
            raise _bad(results, 'hr', 'MultiViewCrop: no HR image')
        hr = results['hr']
        if not isinstance(hr, np.ndarray) or hr.ndim != 3 or hr.shape[2] != 3:
            raise _bad(
                results, 'hr', 'MultiViewCrop: must be an (H, W, 3) array, '
                f'got {getattr(hr, "shape", type(hr))}')
        height, width = hr.shape[:2]
        if height % self.grid or width % self.grid:
            raise _bad(
                results, 'hr', f'MultiViewCrop: size {(height, width)} is '
                f'not a multiple of grid={self.grid}')
        grid_hw = (height // self.grid, width // self.grid)
        for m in SERIES:
            if not _has(results, m):
                continue
            data = results[m]
            if not isinstance(data, np.ndarray) or data.ndim != 4:
                raise _bad(
                    results, m, 'MultiViewCrop: must be a (T, C, h, w) '
                    f'array, got {getattr(data, "shape", type(data))}')
            if data.shape[-2:] != grid_hw:
                raise _bad(
                    results, m, f'MultiViewCrop: {tuple(data.shape[-2:])} '
                    f'pixels but hr {(height, width)} needs {grid_hw} (one '
                    f'pixel per {self.grid} HR pixels)')
            valid = results.get(f'{m}_valid')
            if valid is None:
                raise _bad(results, f'{m}_valid',
                           f'MultiViewCrop: missing while {m} is given')
            exp = (data.shape[0], ) + data.shape[2:]
            if tuple(np.shape(valid)) != exp:
                raise _bad(
                    results, f'{m}_valid', f'MultiViewCrop: must be {exp}, '
                    f'got {tuple(np.shape(valid))}')
        return height, width

    def transform(self, results: dict) -> dict:
        height, width = self._check(results)
        hr = results['hr']
        boxes = [
            sample_crop_box(height, width, self.global_scale, self.ratio,
                            self.grid) for _ in range(NUM_GLOBAL_VIEWS)
        ] + [
            sample_crop_box(height, width, self.local_scale, self.ratio)
            for _ in range(self.num_local)
        ]
        views = []
        for v, (x1, y1, x2, y2) in enumerate(boxes):
            size = self.global_size if v < NUM_GLOBAL_VIEWS else \
                self.local_size
            crop = np.asarray(hr[y1:y2, x1:x2], dtype=np.float32)
            views.append(_resize_hr(crop, size, self.interpolation))
        results['hr_views'] = views
        results['view_boxes'] = np.stack(boxes).astype(np.float32)
        results['view_flips'] = np.zeros(len(boxes), dtype=bool)
        results['view_rot90'] = np.zeros(len(boxes), dtype=np.int64)
        results['num_global_views'] = NUM_GLOBAL_VIEWS
        for m in SERIES:
            if not _has(results, m):
                continue
            crops, valids = [], []
            for x1, y1, x2, y2 in np.stack(
                    boxes[:NUM_GLOBAL_VIEWS]) // self.grid:
                data, valid = _resize_series(
                    results[m][..., y1:y2, x1:x2],
                    np.asarray(results[f'{m}_valid'], bool)[..., y1:y2, x1:x2],
                    self.series_size)
                crops.append(data)
                valids.append(valid)
            results[f'{m}_views'] = crops
            results[f'{m}_valid_views'] = valids
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(global_size={self.global_size}, '
                f'local_size={self.local_size}, num_local={self.num_local}, '
                f'global_scale={self.global_scale}, '
                f'local_scale={self.local_scale}, ratio={self.ratio}, '
                f'grid={self.grid})')


@TRANSFORMS.register_module()
class RandomViewFlipRotate(BaseTransform):
    """Random horizontal flip and rot90 per view, recorded in the metainfo.

    Each view is flipped with ``flip_prob`` and rotated by ``k`` (uniform in
    ``rot90_choices``) quarter turns (``np.rot90``), after any flip; a global
    view's S2 / S1 crops (and valid masks) get the same flip and rotation.
    ``view_flips`` / ``view_rot90`` hold the total (a second application is
    composed into the same ``flip then rot90`` form). Non-square views only
    take even ``k``.

    Args:
        flip_prob (float): Defaults to 0.5.
        rot90_choices (sequence[int]): Quarter turns to draw from. Defaults
            to (0, 1, 2, 3); ``(0,)`` disables rotation.
    """

    def __init__(
        self,
        flip_prob: float = 0.5,
        rot90_choices: Sequence[int] = (0, 1, 2, 3)
    ) -> None:
        if not 0 <= flip_prob <= 1:
            raise ValueError(f'flip_prob must be in [0, 1], got {flip_prob}')
        if not rot90_choices:
            raise ValueError('rot90_choices must not be empty')
        self.flip_prob = flip_prob
        self.rot90_choices = tuple(int(k) % 4 for k in rot90_choices)

    def transform(self, results: dict) -> dict:
        _require_views(results, 'RandomViewFlipRotate')
        views = results['hr_views']
        flips = results['view_flips'].copy()
        rots = results['view_rot90'].copy()
        for v, img in enumerate(views):
            flip = bool(np.random.rand() < self.flip_prob)
            choices = self.rot90_choices
            if img.shape[0] != img.shape[1]:
                choices = tuple(k for k in choices if k % 2 == 0) or (0, )
            k = int(choices[np.random.randint(len(choices))])
            views[v] = _flip_rot(img, flip, k, (0, 1))
            if v < results['num_global_views']:
                for m in SERIES:
                    for key in (f'{m}_views', f'{m}_valid_views'):
                        if key in results:
                            results[key][v] = _flip_rot(
                                results[key][v], flip, k, (-2, -1))
            # new R^k F^f after old R^k0 F^f0 = R^(k +- k0) F^(f xor f0)
            rots[v] = (k + (-rots[v] if flip else rots[v])) % 4
            flips[v] = flips[v] ^ flip
        results['view_flips'] = flips
        results['view_rot90'] = rots
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(flip_prob={self.flip_prob}, '
                f'rot90_choices={self.rot90_choices})')


class _HRViewTransform(BaseTransform):
    """Base of the per-view photometric HR augmentations.

    ``prob`` is one float for every view or ``(global_1, global_2, local)``
    (DINO uses different probabilities for the two global views). Only
    ``hr_views`` is changed, never the S2 / S1 views. Subclasses implement
    :meth:`apply` on one float32 ``(H, W, 3)`` RGB 0..255 view.

    Args:
        prob (float | tuple[float, float, float]): Probability per view.
    """

    def __init__(self, prob: Union[float, Sequence[float]]) -> None:
        probs = (prob, ) * 3 if isinstance(prob, (int, float)) else tuple(prob)
        if len(probs) != 3 or not all(0 <= p <= 1 for p in probs):
            raise ValueError('prob must be a float or (global_1, global_2, '
                             f'local) in [0, 1], got {prob}')
        self.prob = probs

    def _view_prob(self, v: int) -> float:
        return self.prob[min(v, 2)]

    def apply(self, img: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        _require_views(results, self.__class__.__name__)
        views = results['hr_views']
        for v in range(len(views)):
            if np.random.rand() < self._view_prob(v):
                views[v] = self.apply(views[v]).astype(np.float32)
        return results


def _shift_hue(bgr: np.ndarray, factor: float) -> np.ndarray:
    """Cyclic hue shift by ``factor`` turns of a float BGR 0..255 image.

    As ``mmcv.adjust_hue`` but in float (no uint8 round trip; mmcv's
    ``np.uint8(negative)`` fails under NumPy 2).
    """
    hsv = cv2.cvtColor((np.clip(bgr, 0, 255) / 255.).astype(np.float32),
                       cv2.COLOR_BGR2HSV)
    hsv[..., 0] = (hsv[..., 0] + factor * 360.) % 360.
    return cv2.cvtColor(hsv.astype(np.float32), cv2.COLOR_HSV2BGR) * 255.


@TRANSFORMS.register_module()
class HRViewColorJitter(_HRViewTransform):
    """DINO colour jitter + random grayscale on the HR views (RGB 0..255).

    With probability ``prob`` per view: brightness, contrast, saturation and
    hue factors (as torchvision ``ColorJitter``, in random order, via
    ``mmcv.adjust_brightness / contrast / color`` and a float hue shift),
    then, independently, grayscale with ``gray_prob``.

    Args:
        prob (float | tuple): See :class:`_HRViewTransform`. Defaults to 0.8.
        brightness (float): Factor in ``[1 - b, 1 + b]``. Defaults to 0.4.
        contrast (float): Defaults to 0.4.
        saturation (float): Defaults to 0.2.
        hue (float): Shift in ``[-hue, hue]`` (<= 0.5). Defaults to 0.1.
        gray_prob (float): Defaults to 0.2.
    """

    def __init__(self,
                 prob: Union[float, Sequence[float]] = 0.8,
                 brightness: float = 0.4,
                 contrast: float = 0.4,
                 saturation: float = 0.2,
                 hue: float = 0.1,
                 gray_prob: float = 0.2) -> None:
        super().__init__(prob)
        if not 0 <= hue <= 0.5:
            raise ValueError(f'hue must be in [0, 0.5], got {hue}')
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.gray_prob = gray_prob

    def apply(self, img: np.ndarray) -> np.ndarray:
        bgr = np.clip(img[..., ::-1], 0, 255).astype(np.float32)
        for op in np.random.permutation(4):
            if op == 0 and self.brightness:
                f = np.random.uniform(1 - self.brightness, 1 + self.brightness)
                bgr = mmcv.adjust_brightness(bgr, f)
            elif op == 1 and self.contrast:
                f = np.random.uniform(1 - self.contrast, 1 + self.contrast)
                bgr = mmcv.adjust_contrast(bgr, f)
            elif op == 2 and self.saturation:
                f = np.random.uniform(1 - self.saturation, 1 + self.saturation)
                bgr = mmcv.adjust_color(bgr, f)
            elif op == 3 and self.hue:
                bgr = _shift_hue(bgr, np.random.uniform(-self.hue, self.hue))
        return np.ascontiguousarray(bgr[..., ::-1])

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        views = results['hr_views']
        for v in range(len(views)):
            if np.random.rand() < self.gray_prob:
                gray = mmcv.rgb2gray(views[v].astype(np.float32))
                views[v] = np.repeat(gray[..., None], 3, axis=2)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'brightness={self.brightness}, contrast={self.contrast}, '
                f'saturation={self.saturation}, hue={self.hue}, '
                f'gray_prob={self.gray_prob})')


@TRANSFORMS.register_module()
class HRViewGaussianBlur(_HRViewTransform):
    """Gaussian blur of the HR views (DINO: p = 1.0, 0.1, 0.5).

    Args:
        prob (float | tuple): See :class:`_HRViewTransform`. Defaults to
            (1.0, 0.1, 0.5).
        sigma (tuple[float, float]): Range of the blur sigma in output
            pixels. Defaults to (0.1, 2.0).
    """

    def __init__(
        self,
        prob: Union[float, Sequence[float]] = (1.0, 0.1, 0.5),
        sigma: Tuple[float, float] = (0.1, 2.0)
    ) -> None:
        super().__init__(prob)
        if not 0 < sigma[0] <= sigma[1]:
            raise ValueError(f'sigma must be (low, high), 0 < low <= high, '
                             f'got {sigma}')
        self.sigma = tuple(sigma)

    def apply(self, img: np.ndarray) -> np.ndarray:
        s = float(np.random.uniform(*self.sigma))
        return cv2.GaussianBlur(img.astype(np.float32), (0, 0), s)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'sigma={self.sigma})')


@TRANSFORMS.register_module()
class HRViewSolarize(_HRViewTransform):
    """Solarization of the HR views (DINO: p = 0, 0.2, 0; ``mmcv.solarize``).

    Args:
        prob (float | tuple): See :class:`_HRViewTransform`. Defaults to
            (0.0, 0.2, 0.0).
        thr (float): Values >= ``thr`` become ``255 - value``. Defaults to
            128.
    """

    def __init__(self,
                 prob: Union[float, Sequence[float]] = (0.0, 0.2, 0.0),
                 thr: float = 128) -> None:
        super().__init__(prob)
        self.thr = thr

    def apply(self, img: np.ndarray) -> np.ndarray:
        return mmcv.solarize(img, thr=self.thr)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, thr={self.thr})'


@TRANSFORMS.register_module()
class RandomSubsequence(BaseTransform):
    """Random fixed-length subsequence of each S2 / S1 global-view series.

    For each global view independently, ``length`` dates are drawn without
    replacement and kept in chronological (original) order. A series with
    fewer than ``length`` usable dates follows ``short_policy``:

    - ``'pad'``: all its dates, then padding: zeros, ``*_valid`` False,
      day of year 1 and ``*_mask`` False (the fusion neck ignores them);
    - ``'error'``: ``ValueError`` naming the sample and the field;
    - ``'repeat'``: draw with replacement (dates repeated, mask True); only
      when explicitly asked for.

    Args:
        length (int): ``T'``.
        short_policy (str): 'pad', 'error' or 'repeat'. Defaults to 'pad'.
        modalities (sequence[str]): Defaults to ('s2', 's1').
        min_valid_frac (float, optional): When set, only dates whose crop
            has at least this fraction (and at least one) of valid pixels
            are usable. Defaults to None (all dates).
    """

    POLICIES = ('pad', 'error', 'repeat')

    def __init__(self,
                 length: int,
                 short_policy: str = 'pad',
                 modalities: Sequence[str] = SERIES,
                 min_valid_frac: Optional[float] = None) -> None:
        if int(length) < 1:
            raise ValueError(f'length must be >= 1, got {length}')
        if short_policy not in self.POLICIES:
            raise ValueError(f'short_policy must be one of {self.POLICIES}, '
                             f'got {short_policy!r}')
        bad = set(modalities) - set(SERIES)
        if bad:
            raise ValueError(f'modalities must be in {SERIES}, got {bad}')
        self.length = int(length)
        self.short_policy = short_policy
        self.modalities = tuple(modalities)
        self.min_valid_frac = min_valid_frac

    def _indices(self, usable: np.ndarray, field: str,
                 results: dict) -> np.ndarray:
        n = len(usable)
        if n >= self.length:
            return np.sort(np.random.choice(usable, self.length,
                                            replace=False))
        if self.short_policy == 'error':
            raise _bad(
                results, field, f'RandomSubsequence: {n} usable dates, '
                f"fewer than length={self.length} (short_policy='error')")
        if self.short_policy == 'repeat' and n > 0:
            return np.sort(np.random.choice(usable, self.length, replace=True))
        return np.concatenate([usable, -np.ones(self.length - n, np.int64)])

    def transform(self, results: dict) -> dict:
        _require_views(results, 'RandomSubsequence')
        for m in self.modalities:
            if f'{m}_views' not in results:
                continue
            doy = np.asarray(results.get(f'{m}_doy'))
            n_dates = results[f'{m}_views'][0].shape[0]
            if doy.shape != (n_dates, ):
                raise _bad(
                    results, f'{m}_doy', f'RandomSubsequence: must have '
                    f'shape ({n_dates},) like {m}, got {doy.shape}')
            for key in ('views', 'valid_views', 'doy_views', 'mask_views',
                        'time_index_views'):
                results.setdefault(f'{m}_{key}',
                                   [None] * len(results[f'{m}_views']))
            for v, (data, valid) in enumerate(
                    zip(results[f'{m}_views'], results[f'{m}_valid_views'])):
                usable = np.arange(n_dates)
                if self.min_valid_frac is not None:
                    frac = valid.reshape(n_dates, -1).mean(1)
                    usable = usable[(frac >= self.min_valid_frac) & (frac > 0)]
                idx = self._indices(usable, f'{m}', results)
                real = idx >= 0
                if n_dates == 0:  # nothing to take: all padding
                    data = np.zeros((1, ) + data.shape[1:], np.float32)
                    valid = np.zeros((1, ) + valid.shape[1:], bool)
                    doy = np.ones(1, np.int64)
                take = np.where(real, idx, 0)
                r4 = real[:, None, None, None]
                results[f'{m}_views'][v] = np.where(r4, data[take],
                                                    0).astype(np.float32)
                results[f'{m}_valid_views'][v] = np.where(
                    r4[:, 0], valid[take], False)
                results[f'{m}_doy_views'][v] = np.where(real, doy[take],
                                                        1).astype(np.int64)
                results[f'{m}_mask_views'][v] = real
                results[f'{m}_time_index_views'][v] = idx.astype(np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(length={self.length}, '
                f'short_policy={self.short_policy!r}, '
                f'modalities={self.modalities}, '
                f'min_valid_frac={self.min_valid_frac})')


def wrap_doy(doy: np.ndarray) -> np.ndarray:
    """Wrap any integer day onto the 365-day cycle ``1..365``.

    Consistent with the fusion neck (``doy_to_index``), where day 366 shares
    the embedding row of day 365: 366 is first read as 365, so 1 January
    follows both; e.g. ``366 + 1 -> 1``, ``365 + 1 -> 1``, ``1 - 1 -> 365``.

    Args:
        doy (np.ndarray): Integer days (any value, e.g. after jitter).

    Returns:
        np.ndarray: int64 days in ``1..365``.
    """
    return (np.asarray(doy, np.int64) - 1) % DAYS_PER_YEAR + 1


@TRANSFORMS.register_module()
class DateJitter(BaseTransform):
    """Random disturbance of the S2 / S1 acquisition dates (§4.1).

    Every real date (mask True) of each series gets its own integer shift,
    uniform in ``[-max_days, max_days]``, wrapped with :func:`wrap_doy`
    (``1..365``, day 366 read as 365). Padded dates keep day 1. Acts on the
    view series (``*_doy_views``) when present, else on ``*_doy``.
    ``*_dates`` (the true acquisition dates) are not changed.

    Args:
        max_days (int): ``k``. Defaults to 5.
        modalities (sequence[str]): Defaults to ('s2', 's1').
    """

    def __init__(self,
                 max_days: int = 5,
                 modalities: Sequence[str] = SERIES) -> None:
        if int(max_days) < 0:
            raise ValueError(f'max_days must be >= 0, got {max_days}')
        self.max_days = int(max_days)
        self.modalities = tuple(modalities)

    def _jitter(self, doy: np.ndarray, mask: np.ndarray, field: str,
                results: dict) -> np.ndarray:
        doy = np.asarray(doy, np.int64)
        real = doy[mask]
        if real.size and (real.min() < 1 or real.max() > 366):
            raise _bad(
                results, field, 'DateJitter: days of year must be in '
                f'1..366, got {real.min()}..{real.max()}')
        shift = np.random.randint(-self.max_days,
                                  self.max_days + 1,
                                  size=doy.shape)
        return np.where(mask, wrap_doy(np.minimum(doy, 365) + shift), doy)

    def transform(self, results: dict) -> dict:
        for m in self.modalities:
            if f'{m}_doy_views' in results:
                results[f'{m}_doy_views'] = [
                    self._jitter(d, np.asarray(k, bool), f'{m}_doy', results)
                    for d, k in zip(results[f'{m}_doy_views'],
                                    results[f'{m}_mask_views'])
                ]
            elif _has(results, f'{m}_doy'):
                doy = np.asarray(results[f'{m}_doy'])
                results[f'{m}_doy'] = self._jitter(doy,
                                                   np.ones(doy.shape, bool),
                                                   f'{m}_doy', results)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_days={self.max_days}, '
                f'modalities={self.modalities})')


@TRANSFORMS.register_module()
class PackSkySensePretrainInputs(BaseTransform):
    """Pack the views into the pre-training ``inputs`` / ``data_samples``.

    ``inputs``: ``hr`` (list of V float32 ``(3, Hv, Wv)``), per series
    present ``m``: ``m`` (2 float32 ``(T', C, hv, wv)``), ``m_doy`` (2 int64
    ``(T',)``), ``m_mask`` (2 bool ``(T',)``; without
    :class:`RandomSubsequence` the whole series, all True), ``latlon``
    float32 ``(2,)``. ``data_samples``: :class:`BaseDataElement` with
    metainfo ``view_boxes``, ``view_flips``, ``view_rot90``, ``sample_id``,
    ``latlon`` and ``meta_keys``.

    Args:
        with_pixel_valid (bool): Also pack ``m_valid`` (2 bool
            ``(T', hv, wv)``, False = nodata / cloud) into ``inputs``; not
            part of the contract. Defaults to False.
        meta_keys (sequence[str]): Extra keys copied to the metainfo when
            present. Defaults to ('hr_doy', 's2_time_index_views',
            's1_time_index_views').
    """

    def __init__(
        self,
        with_pixel_valid: bool = False,
        meta_keys: Sequence[str] = ('hr_doy', 's2_time_index_views',
                                    's1_time_index_views')
    ) -> None:
        self.with_pixel_valid = with_pixel_valid
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        _require_views(results, 'PackSkySensePretrainInputs')
        if not _has(results, 'latlon'):
            raise _bad(results, 'latlon', 'PackSkySensePretrainInputs: '
                       'missing')
        latlon = np.asarray(results['latlon'], np.float64)
        if latlon.shape != (2, ) or not np.isfinite(latlon).all():
            raise _bad(
                results, 'latlon', 'PackSkySensePretrainInputs: must be 2 '
                f'finite numbers (lat, lon), got {latlon}')
        inputs: Dict[str, object] = dict(hr=[
            torch.from_numpy(
                np.ascontiguousarray(v.transpose(2, 0, 1), np.float32))
            for v in results['hr_views']
        ])
        for m in SERIES:
            if f'{m}_views' not in results:
                continue
            views = results[f'{m}_views']
            inputs[m] = [
                torch.from_numpy(np.ascontiguousarray(x, np.float32))
                for x in views
            ]
            if f'{m}_doy_views' in results:
                doys = results[f'{m}_doy_views']
                masks = results[f'{m}_mask_views']
            else:
                doy = np.asarray(results[f'{m}_doy'], np.int64)
                doys = [doy] * len(views)
                masks = [np.ones(doy.shape, bool)] * len(views)
            inputs[f'{m}_doy'] = [
                torch.from_numpy(np.array(d, np.int64)) for d in doys
            ]
            inputs[f'{m}_mask'] = [
                torch.from_numpy(np.array(k, bool)) for k in masks
            ]
            if self.with_pixel_valid:
                inputs[f'{m}_valid'] = [
                    torch.from_numpy(np.array(k, bool))
                    for k in results[f'{m}_valid_views']
                ]
        inputs['latlon'] = torch.from_numpy(latlon.astype(np.float32))
        meta = dict(view_boxes=np.asarray(results['view_boxes'], np.float32),
                    view_flips=np.asarray(results['view_flips'], bool),
                    view_rot90=np.asarray(results['view_rot90'], np.int64),
                    sample_id=results.get('sample_id'),
                    latlon=latlon)
        for key in self.meta_keys:
            if key in results:
                meta[key] = results[key]
        return dict(inputs=inputs, data_samples=BaseDataElement(metainfo=meta))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'with_pixel_valid={self.with_pixel_valid}, '
                f'meta_keys={self.meta_keys})')


def _rot_inverse(i, j, k, hf, wf):
    """Final ``(i, j)`` of an ``(hf, wf)`` grid -> pre-``rot90(k)`` coords."""
    cand = [(i, j), (j, hf - 1 - i), (hf - 1 - i, wf - 1 - j), (wf - 1 - j, i)]
    r = torch.zeros_like(i)
    c = torch.zeros_like(j)
    for q, (rq, cq) in enumerate(cand):
        r = torch.where(k == q, rq, r)
        c = torch.where(k == q, cq, c)
    return r, c


def _rot_forward(r, c, k, h, w):
    """Pre-rotation ``(r, c)`` of an ``(h, w)`` grid -> after ``rot90(k)``."""
    cand = [(r, c), (w - 1 - c, r), (h - 1 - r, w - 1 - c), (c, h - 1 - r)]
    i = torch.zeros_like(r)
    j = torch.zeros_like(c)
    for q, (iq, jq) in enumerate(cand):
        i = torch.where(k == q, iq, i)
        j = torch.where(k == q, jq, j)
    return i, j


def view_correspondence(
        box_a, flip_a, rot_a, box_b, flip_b, rot_b, out_hw_a: Sequence[int],
        out_hw_b: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """For every cell of view A's grid, the matching position in view B.

    A view is ``crop(box) -> resize -> horizontal flip -> np.rot90(rot)``
    (see the module docstring). The grids are the views' feature grids as
    they come out (after the rotation): ``out_hw`` is e.g. the stride-32
    map size, or the pixel size. Cells tile the box, so each cell centre of
    A is a ground point in the original HR frame, which is then placed in
    B. Batched over any leading dims of the boxes / flips / rots.

    Args:
        box_a (array-like): ``(..., 4)`` ``x1, y1, x2, y2`` of view A in the
            original HR pixel frame (``view_boxes``).
        flip_a (array-like): ``(...)`` bool, ``view_flips`` of A.
        rot_a (array-like): ``(...)`` int, ``view_rot90`` of A.
        box_b, flip_b, rot_b: The same for view B.
        out_hw_a (tuple[int, int]): ``(Ha, Wa)`` grid of A (after rotation).
        out_hw_b (tuple[int, int]): ``(Hb, Wb)`` grid of B (after rotation).

    Returns:
        tuple[Tensor, Tensor]: ``coords`` float32 ``(..., Ha, Wa, 2)``: the
        ``(row, col)`` in B's grid, in index units (cell ``(r, c)`` centre
        at ``(r, c)``; round to get the cell), and ``valid`` bool ``(...,
        Ha, Wa)``: the point lies inside B's box.
    """
    box_a = torch.as_tensor(np.asarray(box_a), dtype=torch.float64)
    box_b = torch.as_tensor(np.asarray(box_b), dtype=torch.float64)
    if box_a.shape[-1] != 4 or box_b.shape[-1] != 4:
        raise ValueError('boxes must be (..., 4) x1, y1, x2, y2')

    def _leaf(x, dtype):
        return torch.as_tensor(np.asarray(x), dtype=dtype)[..., None, None]

    fa, ra = _leaf(flip_a, torch.bool), _leaf(rot_a, torch.int64) % 4
    fb, rb = _leaf(flip_b, torch.bool), _leaf(rot_b, torch.int64) % 4
    ha, wa = (int(s) for s in out_hw_a)
    hb, wb = (int(s) for s in out_hw_b)
    i, j = torch.meshgrid(torch.arange(ha, dtype=torch.float64),
                          torch.arange(wa, dtype=torch.float64),
                          indexing='ij')
    # A: undo rot90, then flip, to the resized-crop grid (h0a, w0a)
    r, c = _rot_inverse(i, j, ra, ha, wa)
    w0a = torch.where(ra % 2 == 1, float(ha), float(wa))
    h0a = torch.where(ra % 2 == 1, float(wa), float(ha))
    c = torch.where(fa, w0a - 1 - c, c)
    ba = box_a[..., None, None, :]
    x = ba[..., 0] + (c + 0.5) * (ba[..., 2] - ba[..., 0]) / w0a
    y = ba[..., 1] + (r + 0.5) * (ba[..., 3] - ba[..., 1]) / h0a
    # B: ground point -> resized-crop grid, then flip, then rot90
    bb = box_b[..., None, None, :]
    w0b = torch.where(rb % 2 == 1, float(hb), float(wb))
    h0b = torch.where(rb % 2 == 1, float(wb), float(hb))
    valid = (x >= bb[..., 0]) & (x < bb[..., 2]) & (y >= bb[..., 1]) & (
        y < bb[..., 3])
    c = (x - bb[..., 0]) / (bb[..., 2] - bb[..., 0]) * w0b - 0.5
    r = (y - bb[..., 1]) / (bb[..., 3] - bb[..., 1]) * h0b - 0.5
    c = torch.where(fb, w0b - 1 - c, c)
    r, c = _rot_forward(r, c, rb, h0b, w0b)
    coords = torch.stack([r, c], dim=-1).float()
    return coords, valid


def correspondence_to_grid(coords: torch.Tensor,
                           out_hw_b: Sequence[int]) -> torch.Tensor:
    """``(row, col)`` index coords -> ``grid`` of ``F.grid_sample``.

    Args:
        coords (Tensor): ``(..., 2)`` from :func:`view_correspondence`.
        out_hw_b (tuple[int, int]): ``(Hb, Wb)`` grid of view B.

    Returns:
        Tensor: ``(..., 2)`` normalised ``(x, y)`` in ``[-1, 1]`` for
        ``grid_sample(..., align_corners=False)``.
    """
    hb, wb = out_hw_b
    x = (coords[..., 1] + 0.5) / wb * 2 - 1
    y = (coords[..., 0] + 0.5) / hb * 2 - 1
    return torch.stack([x, y], dim=-1)
