"""fMoW-Sentinel (SatMAE) as a temporal classification benchmark.

SkySense (https://arxiv.org/abs/2312.10115, Tab. 3, "fMoW-S2") classifies
the Sentinel-2 time series of a location with the S2 encoder and the
fusion transformer over time. The data is the fMoW-Sentinel release of
SatMAE (sustainlab-group/SatMAE ``README.md``, ``util/datasets.py``)::

    fmow-sentinel/<split>/<category>/<category>_<location_id>/
        <category>_<location_id>_<image_id>.tif      (13-band GeoTIFF)
    fmow-sentinel/<split>.csv   (category, location_id, image_id,
                                 timestamp, image_path)

SatMAE treats every image on its own; here the rows of one
``(category, location_id)`` form one sample, a series sorted by timestamp.
Protocol choices of this module (not published by SkySense):

* ``image_path`` of the CSV is ignored by default and rebuilt from the
  pattern above below ``data_prefix['img_path']`` (the SatMAE README says
  the column may need rebuilding);
* bands: B1, B9 and B10 are dropped as in SatMAE, leaving the 10 bands of
  the SkySense S2 encoder (B2 B3 B4 B5 B6 B7 B8 B8A B11 B12, same order);
* :class:`LoadFMoWSentinelSeries` brings a series to ``num_dates`` dates:
  longer series are sub-sampled (training: a random sorted subset; test:
  evenly spaced dates, deterministic), shorter ones are padded with zero
  images whose ``date_mask`` entry is False; every image is resampled
  bilinearly to ``size x size`` (dates of one location may differ in size).
"""
import csv
import os.path as osp
from collections import OrderedDict
from datetime import datetime
from typing import List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.datasets import BaseDataset

from skysense_mm.registry import DATASETS, TRANSFORMS

__all__ = [
    'FMoWSentinelDataset', 'LoadFMoWSentinelSeries', 'FMOW_CATEGORIES',
    'FMOW_S2_BANDS', 'parse_fmow_timestamp'
]

#: The 62 classes in the order of SatMAE ``util/datasets.py`` CATEGORIES.
FMOW_CATEGORIES = (
    'airport', 'airport_hangar', 'airport_terminal', 'amusement_park',
    'aquaculture', 'archaeological_site', 'barn', 'border_checkpoint',
    'burial_site', 'car_dealership', 'construction_site', 'crop_field', 'dam',
    'debris_or_rubble', 'educational_institution', 'electric_substation',
    'factory_or_powerplant', 'fire_station', 'flooded_road', 'fountain',
    'gas_station', 'golf_course', 'ground_transportation_station', 'helipad',
    'hospital', 'impoverished_settlement', 'interchange', 'lake_or_pond',
    'lighthouse', 'military_facility', 'multi-unit_residential',
    'nuclear_powerplant', 'office_building', 'oil_or_gas_facility', 'park',
    'parking_lot_or_garage', 'place_of_worship', 'police_station', 'port',
    'prison', 'race_track', 'railway_bridge', 'recreational_facility',
    'road_bridge', 'runway', 'shipyard', 'shopping_mall',
    'single-unit_residential', 'smokestack', 'solar_farm', 'space_facility',
    'stadium', 'storage_tank', 'surface_mine', 'swimming_pool', 'toll_booth',
    'tower', 'tunnel_opening', 'waste_disposal', 'water_treatment_facility',
    'wind_farm', 'zoo')

#: The 13 bands of an fMoW-Sentinel GeoTIFF, in file order.
FMOW_FILE_BANDS = ('B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A',
                   'B9', 'B10', 'B11', 'B12')
#: The 10 bands kept (SatMAE drops B1, B9, B10), = the SkySense S2 order.
FMOW_S2_BANDS = ('B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B11',
                 'B12')

_COLUMNS = ('category', 'location_id', 'image_id', 'timestamp')


def parse_fmow_timestamp(value: str, where: str = '') -> datetime:
    """Parse an ISO 8601 timestamp of the CSV (``Z`` suffix allowed).

    Args:
        value (str): e.g. ``'2017-06-21T10:20:31Z'``.
        where (str): CSV and row named in error messages.

    Returns:
        datetime: The parsed time.

    Raises:
        ValueError: The value is not an ISO 8601 date/time.
    """
    text = (value or '').strip()
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f'{where}: field "timestamp" is {value!r}, not an '
                         'ISO 8601 date/time') from None


@DATASETS.register_module()
class FMoWSentinelDataset(BaseDataset):
    """fMoW-Sentinel locations as S2 time series (62 classes).

    For SkySense (https://arxiv.org/abs/2312.10115). One data info per
    ``(category, location_id)``: ``img_paths`` (sorted by time),
    ``doys`` (day of year 1..366 per date), ``timestamps`` and ``gt_label``
    (index in :data:`FMOW_CATEGORIES`).

    Args:
        ann_file (str): ``train.csv`` / ``val.csv`` / ``test.csv``.
        data_root (str): Root of the data. Defaults to ''.
        data_prefix (str | dict): Folder of the split's images
            (``fmow-sentinel/<split>``), as ``img_path``. Defaults to ''.
        use_csv_image_path (bool): Use the CSV's ``image_path`` column
            instead of rebuilding it. Defaults to False.
        **kwargs: Other arguments of mmpretrain ``BaseDataset``.
    """

    METAINFO = dict(classes=FMOW_CATEGORIES)

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 use_csv_image_path: bool = False,
                 **kwargs):
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.use_csv_image_path = use_csv_image_path
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Group the CSV rows by location into time-sorted series."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'FMoWSentinelDataset: CSV {self.ann_file} not found')
        img_dir = self.data_prefix.get('img_path', '')
        index = {c: i for i, c in enumerate(FMOW_CATEGORIES)}
        groups = OrderedDict()
        with open(self.ann_file, newline='') as f:
            reader = csv.DictReader(f)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames
                                                         or [])]
            if self.use_csv_image_path and 'image_path' not in missing and \
                    'image_path' not in (reader.fieldnames or []):
                missing.append('image_path')
            if missing:
                raise ValueError(f'{self.ann_file}: missing column(s) '
                                 f'{missing} (header: {reader.fieldnames})')
            for row_no, row in enumerate(reader, start=2):
                where = f'{self.ann_file} line {row_no}'
                cat = (row['category'] or '').strip()
                if cat not in index:
                    raise ValueError(f'{where}: field "category" is {cat!r}, '
                                     'not one of the 62 fMoW-Sentinel '
                                     'categories')
                loc = (row['location_id'] or '').strip()
                img_id = (row['image_id'] or '').strip()
                if not loc or not img_id:
                    raise ValueError(f'{where}: empty "location_id" or '
                                     '"image_id"')
                when = parse_fmow_timestamp(row['timestamp'], where)
                if self.use_csv_image_path:
                    path = row['image_path']
                else:
                    stem = f'{cat}_{loc}'
                    path = osp.join(img_dir, cat, stem,
                                    f'{stem}_{img_id}.tif')
                groups.setdefault((cat, loc), []).append((when, path))
        if not groups:
            raise ValueError(f'{self.ann_file}: no image rows')
        data_list = []
        for (cat, loc), items in groups.items():
            items.sort(key=lambda x: (x[0].replace(tzinfo=None), x[1]))
            data_list.append(
                dict(img_paths=[p for _, p in items],
                     doys=[w.timetuple().tm_yday for w, _ in items],
                     timestamps=[w.isoformat() for w, _ in items],
                     location=f'{cat}_{loc}',
                     gt_label=index[cat]))
        return data_list


@TRANSFORMS.register_module()
class LoadFMoWSentinelSeries(BaseTransform):
    """Read an fMoW-Sentinel series into ``(T, 10, size, size)``.

    For SkySense (https://arxiv.org/abs/2312.10115). Adds ``img``
    ``(num_dates, len(keep_bands), size, size)`` float32 (raw values,
    zeros at padded dates), ``doy`` ``(num_dates,)`` int64 (1 at padded
    dates), ``date_mask`` ``(num_dates,)`` bool (True = real date),
    ``img_shape`` and ``ori_shape``.

    Args:
        num_dates (int): Dates per sample ``T``. Defaults to 4.
        size (int): Output side. Defaults to 96 (SatMAE's input size).
        sample (str): How to choose ``T`` of more dates: ``'random'`` (a
            random sorted subset) or ``'uniform'`` (evenly spaced, first
            and last included). Defaults to ``'uniform'``.
        keep_bands (Sequence[int]): Indices of the 13 file bands kept.
            Defaults to all but B1, B9, B10.
        resampling (str): rasterio ``Resampling`` name. Defaults to
            ``'bilinear'``.
    """

    def __init__(self,
                 num_dates: int = 4,
                 size: int = 96,
                 sample: str = 'uniform',
                 keep_bands: Optional[Sequence[int]] = None,
                 resampling: str = 'bilinear'):
        from rasterio.enums import Resampling
        if not isinstance(num_dates, int) or num_dates < 1:
            raise ValueError('LoadFMoWSentinelSeries: `num_dates` must be a '
                             f'positive int, got {num_dates!r}')
        if sample not in ('random', 'uniform'):
            raise ValueError("LoadFMoWSentinelSeries: `sample` must be "
                             f"'random' or 'uniform', got {sample!r}")
        if resampling not in Resampling.__members__:
            raise ValueError('LoadFMoWSentinelSeries: unknown `resampling` '
                             f'{resampling!r}')
        if keep_bands is None:
            keep_bands = [FMOW_FILE_BANDS.index(b) for b in FMOW_S2_BANDS]
        self.keep_bands = [int(b) for b in keep_bands]
        self.num_dates = num_dates
        self.size = int(size)
        self.sample = sample
        self.resampling = Resampling[resampling]

    def _choose(self, n: int) -> np.ndarray:
        t = self.num_dates
        if n <= t:
            return np.arange(n)
        if self.sample == 'uniform':
            return np.round(np.linspace(0, n - 1, t)).astype(np.int64)
        return np.sort(np.random.choice(n, t, replace=False))

    def _read(self, path: str) -> np.ndarray:
        import rasterio
        if not osp.isfile(path):
            raise FileNotFoundError(f'fMoW-Sentinel image {path} not found')
        with rasterio.open(path) as src:
            if src.count != len(FMOW_FILE_BANDS):
                raise ValueError(
                    f'{path}: band count is {src.count}, expected '
                    f'{len(FMOW_FILE_BANDS)} ({",".join(FMOW_FILE_BANDS)})')
            return src.read([b + 1 for b in self.keep_bands],
                            out_shape=(len(self.keep_bands), self.size,
                                       self.size),
                            resampling=self.resampling).astype(np.float32)

    def transform(self, results: dict) -> dict:
        """Load the chosen dates of ``results['img_paths']``."""
        paths = results['img_paths']
        doys = results['doys']
        if len(paths) != len(doys) or not paths:
            raise ValueError(f'{results.get("location", "?")}: '
                             f'{len(paths)} images and {len(doys)} dates')
        t = self.num_dates
        img = np.zeros((t, len(self.keep_bands), self.size, self.size),
                       np.float32)
        doy = np.ones(t, np.int64)
        mask = np.zeros(t, bool)
        for slot, i in enumerate(self._choose(len(paths))):
            img[slot] = self._read(paths[i])
            doy[slot] = doys[i]
            mask[slot] = True
        results['img'] = img
        results['doy'] = doy
        results['date_mask'] = mask
        results['img_shape'] = (self.size, self.size)
        results['ori_shape'] = (self.size, self.size)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_dates={self.num_dates}, '
                f'size={self.size}, sample={self.sample!r}, '
                f'keep_bands={self.keep_bands})')
