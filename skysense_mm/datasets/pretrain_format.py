"""On-disk format of a SkySense pre-training sample (docs/pretrain_data.md).

SkySense (https://arxiv.org/abs/2312.10115) pre-trains on a static
high-resolution (HR) RGB image plus Sentinel-2 and Sentinel-1 time series of
the same ground. One sample is one folder::

    ROOT/<sample_id>/metadata.json
    ROOT/<sample_id>/hr.tif
    ROOT/<sample_id>/s2/<YYYYMMDD>.tif        (+ optional <YYYYMMDD>_cloud.tif)
    ROOT/<sample_id>/s1/<YYYYMMDD>.tif
    ROOT/splits/<name>.txt                    (sample ids, one per line)

This module holds the names of that format, the per-sample error type and the
indexing helpers shared by the dataset, the loading transform and the
checker ``tools/dataset_converters/check_pretrain_data.py``.
"""
import datetime
import os
import os.path as osp
from typing import Dict, List, Optional

S2_BANDS = ('B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B11', 'B12')
S1_BANDS = ('VV', 'VH')
HR_BANDS = ('R', 'G', 'B')
HR_FILE = 'hr.tif'
META_FILE = 'metadata.json'
LABEL_FILE = 'label.png'
SPLITS_DIR = 'splits'
CLOUD_SUFFIX = '_cloud'
DATE_FORMAT = '%Y%m%d'
# HR pixels per Sentinel pixel side (HR 256x256 <-> S2/S1 8x8).
DEFAULT_HR_SCALE = 32


class PretrainSampleError(ValueError):
    """A pre-training sample that cannot be loaded.

    The message always names the offending file and field, e.g.
    ``ROOT/s0/s2/20210510.tif: field 's2': expected 10 bands, got 13``.

    Args:
        path (str): The file (or folder) at fault.
        field (str): The field of the loaded sample (or metadata key) at fault.
        reason (str): What is wrong.
    """

    def __init__(self, path: str, field: str, reason: str):
        self.path = path
        self.field = field
        self.reason = reason
        super().__init__(f"{path}: field '{field}': {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.field, self.reason))


def parse_date(path: str, field: str) -> datetime.date:
    """Parse the acquisition date from a ``<YYYYMMDD>[_cloud].tif`` name.

    Args:
        path (str): The file path.
        field (str): Field name used in the error (``'s2_dates'``...).

    Returns:
        datetime.date: The date.
    """
    stem = osp.splitext(osp.basename(path))[0]
    try:
        return datetime.datetime.strptime(stem, DATE_FORMAT).date()
    except ValueError:
        raise PretrainSampleError(
            path, field, f'unparseable date {stem!r} in the file name '
            '(expected YYYYMMDD.tif)') from None


def parse_iso_date(value, path: str, field: str) -> datetime.date:
    """Parse a ``YYYY-MM-DD`` string from ``metadata.json``.

    Args:
        value: The value read from the JSON file.
        path (str): The metadata file, for the error message.
        field (str): The metadata key, for the error message.

    Returns:
        datetime.date: The date.
    """
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise PretrainSampleError(
            path, field,
            f'unparseable date {value!r} (expected YYYY-MM-DD)') from None


def day_of_year(date: datetime.date) -> int:
    """Day of year in 1..366."""
    return date.timetuple().tm_yday


def _list_series(folder: str) -> Dict[str, List[str]]:
    """Image and cloud-mask files of one modality folder, sorted by name."""
    if not osp.isdir(folder):
        return dict(images=[], clouds={})
    images, clouds = [], {}
    for name in sorted(os.listdir(folder)):
        stem, ext = osp.splitext(name)
        if ext.lower() not in ('.tif', '.tiff'):
            continue
        if stem.endswith(CLOUD_SUFFIX):
            clouds[stem[:-len(CLOUD_SUFFIX)]] = osp.join(folder, name)
        else:
            images.append(osp.join(folder, name))
    return dict(images=images, clouds=clouds)


def index_sample(root: str, sample_id: str) -> dict:
    """Return the data info (file paths only, nothing is read) of a sample.

    Args:
        root (str): Data root.
        sample_id (str): Folder name of the sample under ``root``.

    Returns:
        dict: ``sample_id``, ``sample_dir``, ``meta_path``, ``hr_path``,
        ``s2_paths``, ``s2_cloud_paths`` (same length, ``None`` where a date
        has no mask), ``s1_paths`` and ``label_path`` (``None`` if absent).
    """
    sample_dir = osp.join(root, sample_id)
    s2 = _list_series(osp.join(sample_dir, 's2'))
    s1 = _list_series(osp.join(sample_dir, 's1'))
    s2_clouds = [
        s2['clouds'].get(osp.splitext(osp.basename(p))[0])
        for p in s2['images']
    ]
    label_path = osp.join(sample_dir, LABEL_FILE)
    return dict(
        sample_id=sample_id,
        sample_dir=sample_dir,
        meta_path=osp.join(sample_dir, META_FILE),
        hr_path=osp.join(sample_dir, HR_FILE),
        s2_paths=s2['images'],
        s2_cloud_paths=s2_clouds,
        s1_paths=s1['images'],
        label_path=label_path if osp.isfile(label_path) else None)


def list_sample_ids(root: str, ann_file: Optional[str] = None) -> List[str]:
    """Sample ids of a split file, or every sample folder of ``root``.

    Args:
        root (str): Data root.
        ann_file (str, optional): Split file (one id per line, ``#`` starts
            a comment), absolute or relative to ``root``. ``None`` or ``''``
            lists the sub-folders of ``root`` that hold a ``metadata.json``
            or ``hr.tif``.

    Returns:
        list[str]: Sample ids in file (or sorted) order.
    """
    if ann_file:
        path = ann_file if osp.isabs(ann_file) else osp.join(root, ann_file)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: split file not found')
        with open(path) as f:
            ids = [ln.split('#')[0].strip() for ln in f]
        return [i for i in ids if i]
    if not osp.isdir(root):
        raise FileNotFoundError(f'{root}: data root not found')
    return [
        name for name in sorted(os.listdir(root))
        if osp.isfile(osp.join(root, name, META_FILE))
        or osp.isfile(osp.join(root, name, HR_FILE))
    ]
