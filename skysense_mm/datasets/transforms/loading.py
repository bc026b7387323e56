"""Loading of SkySense pre-training samples with rasterio.

SkySense (https://arxiv.org/abs/2312.10115) pre-trains on a static HR RGB
image plus Sentinel-2 / Sentinel-1 time series of the same ground. The
on-disk format is described in ``docs/pretrain_data.md``; the readers here
turn one sample folder into the loaded-sample dict of the data contract:

``sample_id``, ``latlon`` float64 (2,), ``hr`` float32 (H, W, 3),
``hr_doy``, ``s2`` float32 (T, 10, h, w), ``s2_valid`` bool (T, h, w),
``s2_doy`` int64 (T,), ``s2_dates`` and the same ``s1*`` keys (2 bands),
with h = H / ``hr_scale``. Invalid pixels (nodata, NaN/inf, cloud) are set
to 0 and flagged False in ``*_valid``.
"""
import json
import math
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np
import rasterio
from mmcv.transforms import BaseTransform
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from skysense_mm.registry import TRANSFORMS
from ..pretrain_format import (DEFAULT_HR_SCALE, HR_BANDS, S1_BANDS,
                               S2_BANDS, PretrainSampleError, day_of_year,
                               parse_date, parse_iso_date)

MODALITY_BANDS = dict(s2=S2_BANDS, s1=S1_BANDS)

__all__ = [
    'LoadSkySensePretrainSample', 'read_metadata', 'read_hr', 'read_series',
    'check_pretrain_sample'
]


def _open(path: str, field: str):
    if not osp.isfile(path):
        raise PretrainSampleError(path, field, 'file not found')
    try:
        with warnings.catch_warnings():
            # georeferencing is optional in the format (not used to read)
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioError as err:
        raise PretrainSampleError(
            path, field, f'cannot open with rasterio: {err}') from None


def _check_bands(ds, path: str, field: str, names: Sequence[str]) -> None:
    if ds.count != len(names):
        raise PretrainSampleError(
            path, field, f'expected {len(names)} bands ({",".join(names)}), '
            f'got {ds.count}')
    desc = tuple(d for d in ds.descriptions if d)
    if desc and tuple(d.upper() for d in desc) != tuple(names):
        raise PretrainSampleError(
            path, field, f'band descriptions {list(desc)} do not match the '
            f'expected order {list(names)}')


def _read(ds, path: str, field: str, window: Optional[Window]) -> np.ndarray:
    try:
        return ds.read(window=window)
    except RasterioError as err:
        raise PretrainSampleError(path, field, f'read failed: {err}') from None


def read_metadata(meta_path: str) -> dict:
    """Read ``metadata.json``: location and HR acquisition date.

    Args:
        meta_path (str): Path of the sample's ``metadata.json``.

    Returns:
        dict: ``latlon`` float64 (2,) and ``hr_doy`` (int or None).
    """
    if not osp.isfile(meta_path):
        raise PretrainSampleError(meta_path, 'latlon', 'file not found')
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (ValueError, OSError) as err:
        raise PretrainSampleError(meta_path, 'latlon',
                                  f'invalid JSON: {err}') from None
    if not isinstance(meta, dict):
        raise PretrainSampleError(meta_path, 'latlon', 'not a JSON object')
    latlon = []
    for key, bound in (('lat', 90.0), ('lon', 180.0)):
        value = meta.get(key)
        if value is None:
            raise PretrainSampleError(meta_path, key, 'missing')
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise PretrainSampleError(meta_path, key,
                                      f'not a number: {value!r}') from None
        if not math.isfinite(value) or abs(value) > bound:
            raise PretrainSampleError(
                meta_path, key, f'{value} outside [-{bound:g}, {bound:g}]')
        latlon.append(value)
    hr_date = meta.get('hr_date')
    hr_doy = None
    if hr_date is not None:
        hr_doy = day_of_year(parse_iso_date(hr_date, meta_path, 'hr_date'))
    return dict(latlon=np.asarray(latlon, np.float64), hr_doy=hr_doy)


def read_hr(path: str,
            window: Optional[Tuple[int, int, int, int]] = None,
            hr_scale: int = DEFAULT_HR_SCALE) -> np.ndarray:
    """Read the HR RGB image ``hr.tif`` (3-band uint8).

    Args:
        path (str): Path of ``hr.tif``.
        window (tuple, optional): ``(x0, y0, w, h)`` in HR pixels; ``None``
            reads the whole image.
        hr_scale (int): The full image's sides must be multiples of it.

    Returns:
        np.ndarray: float32 (h, w, 3) in 0..255.
    """
    with _open(path, 'hr') as ds:
        _check_bands(ds, path, 'hr', HR_BANDS)
        if ds.dtypes[0] != 'uint8':
            raise PretrainSampleError(path, 'hr',
                                      f'expected uint8, got {ds.dtypes[0]}')
        if ds.height % hr_scale or ds.width % hr_scale:
            raise PretrainSampleError(
                path, 'hr', f'size {ds.height}x{ds.width} is not a multiple '
                f'of hr_scale={hr_scale}')
        win = None if window is None else Window(*window)
        data = _read(ds, path, 'hr', win)
        nodata = ds.nodata
    if nodata is not None and (data == nodata).all():
        raise PretrainSampleError(path, 'hr', 'all pixels are nodata')
    return np.ascontiguousarray(data.transpose(1, 2, 0), dtype=np.float32)


def hr_shape(path: str) -> Tuple[int, int]:
    """Return ``(H, W)`` of ``hr.tif`` without reading pixels."""
    with _open(path, 'hr') as ds:
        return ds.height, ds.width


def read_series(paths: List[str],
                modality: str,
                cloud_paths: Optional[List[Optional[str]]] = None,
                window: Optional[Tuple[int, int, int, int]] = None,
                expected_shape: Optional[Tuple[int, int]] = None,
                min_dates: int = 0,
                folder: Optional[str] = None) -> dict:
    """Read an S2 or S1 time series, one GeoTIFF per date.

    Args:
        paths (list[str]): ``<YYYYMMDD>.tif`` files in date order.
        modality (str): ``'s2'`` (10 bands, nodata 0) or ``'s1'`` (2 bands
            dB, nodata NaN). The file's declared nodata is used; NaN and
            inf are always invalid.
        cloud_paths (list[str | None], optional): Per date, a 1-band mask
            (non-zero = cloud/shadow) or ``None``.
        window (tuple, optional): ``(x0, y0, w, h)`` in Sentinel pixels.
        expected_shape (tuple, optional): Required full ``(h, w)``.
        min_dates (int): Fewer dates raise :class:`PretrainSampleError`.
        folder (str, optional): The modality folder, named in errors.

    Returns:
        dict: ``<m>`` float32 (T, C, h, w), ``<m>_valid`` bool (T, h, w),
        ``<m>_doy`` int64 (T,), ``<m>_dates`` list of ``YYYY-MM-DD``;
        empty if there are no dates.
    """
    names = MODALITY_BANDS[modality]
    if len(paths) < min_dates:
        where = folder or (osp.dirname(paths[0]) if paths else modality)
        what = (f'series has {len(paths)} dates' if paths else
                'missing modality: no <YYYYMMDD>.tif files')
        raise PretrainSampleError(
            where, modality,
            f'{what}, fewer than min_{modality}_dates={min_dates}')
    if not paths:
        return {}
    cloud_paths = cloud_paths or [None] * len(paths)
    win = None if window is None else Window(*window)
    arrays, valids, dates = [], [], []
    for path, cloud_path in zip(paths, cloud_paths):
        date = parse_date(path, f'{modality}_dates')
        with _open(path, modality) as ds:
            _check_bands(ds, path, modality, names)
            if expected_shape and (ds.height, ds.width) != tuple(
                    expected_shape):
                raise PretrainSampleError(
                    path, modality, f'size {ds.height}x{ds.width}, expected '
                    f'{expected_shape[0]}x{expected_shape[1]} (HR size / '
                    'hr_scale)')
            data = _read(ds, path, modality, win).astype(np.float32)
            nodata = ds.nodata
            full_hw = (ds.height, ds.width)
        valid = np.isfinite(data).all(0)
        if nodata is not None and not math.isnan(nodata):
            valid &= (data != nodata).all(0)
        if not valid.any():
            raise PretrainSampleError(
                path, modality, 'all pixels are nodata' +
                (' in the read window' if window is not None else ''))
        if cloud_path is not None:
            with _open(cloud_path, f'{modality}_valid') as ds:
                if ds.count != 1 or (ds.height, ds.width) != full_hw:
                    raise PretrainSampleError(
                        cloud_path, f'{modality}_valid',
                        f'expected a 1-band mask of size {full_hw[0]}x'
                        f'{full_hw[1]}, got {ds.count} band(s) of '
                        f'{ds.height}x{ds.width}')
                cloud = _read(ds, cloud_path, f'{modality}_valid', win)[0]
            valid &= cloud == 0
        data[:, ~valid] = 0
        arrays.append(data)
        valids.append(valid)
        dates.append(date)
    return {
        modality: np.stack(arrays),
        f'{modality}_valid': np.stack(valids),
        f'{modality}_doy': np.asarray([day_of_year(d) for d in dates],
                                      np.int64),
        f'{modality}_dates': [d.isoformat() for d in dates],
    }


@TRANSFORMS.register_module()
class LoadSkySensePretrainSample(BaseTransform):
    """Load one pre-training sample (HR + S2/S1 series) with rasterio.

    First transform of a SkySense pre-training pipeline
    (https://arxiv.org/abs/2312.10115). It takes the data info of
    :class:`SkySensePretrainDataset` and returns the loaded-sample dict of the
    data contract (see the module docstring). A window is read, not the full
    rasters, when ``crop_size`` is set or ``results['hr_window']`` is given;
    the window is aligned to the ``hr_scale`` grid so that HR and S2/S1 cover
    the same ground. Any problem raises :class:`PretrainSampleError` naming
    the file and the field; the dataset's ``on_error`` policy decides what
    happens next.

    Added keys besides the contract: ``hr_window`` int64 (4,) ``x0, y0, w, h``
    of the read window in the full HR image, ``hr_ori_shape`` and
    ``hr_scale``.

    Args:
        min_s2_dates (int): Minimum S2 series length. Default: 1.
        min_s1_dates (int): Minimum S1 series length; 0 makes S1 optional
            (its keys are absent when the sample has none). Default: 0.
        crop_size (tuple[int, int], optional): ``(h, w)`` of a random HR
            window (multiples of ``hr_scale``). Default: None (full image).
        hr_scale (int): HR pixels per Sentinel pixel side. Default: 32.
    """

    def __init__(self,
                 min_s2_dates: int = 1,
                 min_s1_dates: int = 0,
                 crop_size: Optional[Tuple[int, int]] = None,
                 hr_scale: int = DEFAULT_HR_SCALE):
        if crop_size is not None:
            crop_size = tuple(int(c) for c in crop_size)
            if len(crop_size) != 2 or any(c <= 0 or c % hr_scale
                                          for c in crop_size):
                raise ValueError(f'crop_size {crop_size} must be 2 positive '
                                 f'multiples of hr_scale={hr_scale}')
        self.min_s2_dates = min_s2_dates
        self.min_s1_dates = min_s1_dates
        self.crop_size = crop_size
        self.hr_scale = hr_scale

    def _window(self, results: dict, full: Tuple[int, int]) -> tuple:
        s = self.hr_scale
        H, W = full
        if results.get('hr_window') is not None:
            x0, y0, w, h = (int(v) for v in results['hr_window'])
        elif self.crop_size is not None:
            h, w = self.crop_size
            if h > H or w > W:
                raise PretrainSampleError(
                    results['hr_path'], 'hr', f'size {H}x{W} is smaller '
                    f'than crop_size {h}x{w}')
            y0 = s * np.random.randint(0, (H - h) // s + 1)
            x0 = s * np.random.randint(0, (W - w) // s + 1)
        else:
            return (0, 0, W, H)
        if min(x0, y0) < 0 or x0 + w > W or y0 + h > H or any(
                v % s for v in (x0, y0, w, h)) or min(w, h) <= 0:
            raise PretrainSampleError(
                results['hr_path'], 'hr_window', f'window {(x0, y0, w, h)} '
                f'is not inside {W}x{H} on the hr_scale={s} grid')
        return (x0, y0, w, h)

    @staticmethod
    def _folder(results: dict, modality: str) -> Optional[str]:
        root = results.get('sample_dir')
        return osp.join(root, modality) if root else None

    def transform(self, results: dict) -> dict:
        """Read the sample described by ``results`` (a data info dict).

        Args:
            results (dict): Data info with ``sample_id``, ``meta_path``,
                ``hr_path``, ``s2_paths``, ``s2_cloud_paths``, ``s1_paths``
                and optionally ``hr_window``.

        Returns:
            dict: ``results`` updated with the loaded sample.
        """
        s = self.hr_scale
        meta = read_metadata(results['meta_path'])
        full = hr_shape(results['hr_path'])
        window = self._window(results, full)
        is_full = window == (0, 0, full[1], full[0])
        hr = read_hr(results['hr_path'], None if is_full else window, s)
        lr_window = None if is_full else tuple(v // s for v in window)
        lr_full = (full[0] // s, full[1] // s)
        results.update(
            latlon=meta['latlon'],
            hr=hr,
            hr_doy=meta['hr_doy'],
            hr_window=np.asarray(window, np.int64),
            hr_ori_shape=full,
            hr_scale=s)
        results.update(
            read_series(results.get('s2_paths', []), 's2',
                        results.get('s2_cloud_paths'), lr_window, lr_full,
                        self.min_s2_dates, self._folder(results, 's2')))
        results.update(
            read_series(results.get('s1_paths', []), 's1', None, lr_window,
                        lr_full, self.min_s1_dates,
                        self._folder(results, 's1')))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_s2_dates={self.min_s2_dates}'
                f', min_s1_dates={self.min_s1_dates}, crop_size='
                f'{self.crop_size}, hr_scale={self.hr_scale})')


def check_pretrain_sample(info: dict,
                          min_s2_dates: int = 1,
                          min_s1_dates: int = 0,
                          hr_scale: int = DEFAULT_HR_SCALE
                          ) -> List[PretrainSampleError]:
    """Return every problem of one sample (does not stop at the first).

    Reads the whole sample the way :class:`LoadSkySensePretrainSample` does
    (metadata, HR, each S2/S1 date on its own, the optional ``label.png``)
    and collects the errors. Used by
    ``tools/dataset_converters/check_pretrain_data.py`` (SkySense,
    https://arxiv.org/abs/2312.10115).

    Args:
        info (dict): Data info from ``index_sample``.
        min_s2_dates (int): Minimum S2 series length. Default: 1.
        min_s1_dates (int): Minimum S1 series length. Default: 0.
        hr_scale (int): HR pixels per Sentinel pixel side. Default: 32.

    Returns:
        list[PretrainSampleError]: Empty if the sample is good.
    """
    if not osp.isdir(info['sample_dir']):
        return [
            PretrainSampleError(info['sample_dir'], 'sample_id',
                                'sample folder not found')
        ]
    errors = []

    def attempt(fn, *args):
        try:
            return fn(*args)
        except PretrainSampleError as err:
            errors.append(err)
            return None

    attempt(read_metadata, info['meta_path'])
    hr = attempt(read_hr, info['hr_path'], None, hr_scale)
    lr_shape = None
    if hr is not None:
        lr_shape = (hr.shape[0] // hr_scale, hr.shape[1] // hr_scale)
    for modality, min_dates in (('s2', min_s2_dates), ('s1', min_s1_dates)):
        paths = info.get(f'{modality}_paths', [])
        clouds = info.get(f'{modality}_cloud_paths') or [None] * len(paths)
        folder = osp.join(info['sample_dir'], modality)
        if len(paths) < min_dates:
            attempt(read_series, paths, modality, None, None, None,
                    min_dates, folder)
        for path, cloud in zip(paths, clouds):
            attempt(read_series, [path], modality, [cloud], None, lr_shape)
    label_path = info.get('label_path')
    if label_path and hr is not None:
        with _open(label_path, 'label') as ds:
            if (ds.count, ds.height, ds.width) != (1, ) + hr.shape[:2]:
                errors.append(
                    PretrainSampleError(
                        label_path, 'label', f'expected 1 band of '
                        f'{hr.shape[0]}x{hr.shape[1]} (the HR size), got '
                        f'{ds.count} of {ds.height}x{ds.width}'))
    return errors
