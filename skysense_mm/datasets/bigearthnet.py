"""BigEarthNet-S2 v1.0 multi-label scene classification (19 classes).

SkySense (https://arxiv.org/abs/2312.10115, Tab. 3) evaluates the S2 encoder
on BigEarthNet-S2 with a linear head, mAP with 10% / 100% of the training
patches. This module reads the official v1.0 archive layout directly::

    <img_path>/<patch>/<patch>_B01.tif ... <patch>_B12.tif  (no B10)
    <img_path>/<patch>/<patch>_labels_metadata.json         ("labels": [...])

The 43 CORINE level-3 names of the JSONs are mapped to the 19-class
nomenclature of ``label_indices.json`` of
rsim/BigEarthNet-S2_19-classes_models (``original_labels``,
``BigEarthNet-19_labels`` and ``label_conversion``), as copied in
kai-tub/bigearthnet_common ``constants.OLD2NEW_LABELS_DICT`` /
``NEW_LABELS_ORIGINAL_ORDER`` and torchgeo ``BigEarthNet.class_sets[19]`` /
``label_converter``. 11 of the 43 labels map to no 19-class label; a patch
with only such labels has no target and is skipped and counted (the
official set has 57 of them, bigearthnet_common
``BEN_NO_19_CLASS_TARGET_COUNT``).

Protocol choices of this module:

* bands: the 10 bands of the SkySense S2 encoder in its order
  (:data:`S2_BANDS`, B02 B03 B04 B05 B06 B07 B08 B8A B11 B12); the 20 m
  bands (60x60) are resampled to the 10 m grid (120x120) **bilinearly** by
  rasterio on read, as torchgeo's ``BigEarthNet`` does;
* the label ratio subset (``train_ratio``) draws ``round(ratio * N)``
  patches without replacement with ``numpy.random.default_rng(seed)``
  after the exclusions and the unlabelled skips, kept in file order.
"""
import csv
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset

from skysense_mm.registry import DATASETS, TRANSFORMS

__all__ = [
    'BigEarthNetS2Dataset', 'LoadBigEarthNetS2Bands', 'CORINE_LABELS',
    'BEN19_CLASSES', 'CORINE_TO_BEN19', 'S2_BANDS', 'map_corine_to_ben19'
]

#: The 43 CORINE level-3 names of BigEarthNet v1.0, in the order of
#: ``original_labels`` of label_indices.json; value: the 19-class name or
#: None (11 labels map to nothing).
CORINE_TO_BEN19: Dict[str, Optional[str]] = {
    'Continuous urban fabric': 'Urban fabric',
    'Discontinuous urban fabric': 'Urban fabric',
    'Industrial or commercial units': 'Industrial or commercial units',
    'Road and rail networks and associated land': None,
    'Port areas': None,
    'Airports': None,
    'Mineral extraction sites': None,
    'Dump sites': None,
    'Construction sites': None,
    'Green urban areas': None,
    'Sport and leisure facilities': None,
    'Non-irrigated arable land': 'Arable land',
    'Permanently irrigated land': 'Arable land',
    'Rice fields': 'Arable land',
    'Vineyards': 'Permanent crops',
    'Fruit trees and berry plantations': 'Permanent crops',
    'Olive groves': 'Permanent crops',
    'Pastures': 'Pastures',
    'Annual crops associated with permanent crops': 'Permanent crops',
    'Complex cultivation patterns': 'Complex cultivation patterns',
    'Land principally occupied by agriculture, with significant areas of '
    'natural vegetation':
    'Land principally occupied by agriculture, with significant areas of '
    'natural vegetation',
    'Agro-forestry areas': 'Agro-forestry areas',
    'Broad-leaved forest': 'Broad-leaved forest',
    'Coniferous forest': 'Coniferous forest',
    'Mixed forest': 'Mixed forest',
    'Natural grassland': 'Natural grassland and sparsely vegetated areas',
    'Moors and heathland': 'Moors, heathland and sclerophyllous vegetation',
    'Sclerophyllous vegetation':
    'Moors, heathland and sclerophyllous vegetation',
    'Transitional woodland/shrub': 'Transitional woodland, shrub',
    'Beaches, dunes, sands': 'Beaches, dunes, sands',
    'Bare rock': None,
    'Sparsely vegetated areas':
    'Natural grassland and sparsely vegetated areas',
    'Burnt areas': None,
    'Inland marshes': 'Inland wetlands',
    'Peatbogs': 'Inland wetlands',
    'Salt marshes': 'Coastal wetlands',
    'Salines': 'Coastal wetlands',
    'Intertidal flats': None,
    'Water courses': 'Inland waters',
    'Water bodies': 'Inland waters',
    'Coastal lagoons': 'Marine waters',
    'Estuaries': 'Marine waters',
    'Sea and ocean': 'Marine waters',
}

#: The 43 CORINE names in the official order.
CORINE_LABELS: Tuple[str, ...] = tuple(CORINE_TO_BEN19)

#: The 19-class nomenclature in the official order (index = class id).
BEN19_CLASSES: Tuple[str, ...] = (
    'Urban fabric',
    'Industrial or commercial units',
    'Arable land',
    'Permanent crops',
    'Pastures',
    'Complex cultivation patterns',
    'Land principally occupied by agriculture, with significant areas of '
    'natural vegetation',
    'Agro-forestry areas',
    'Broad-leaved forest',
    'Coniferous forest',
    'Mixed forest',
    'Natural grassland and sparsely vegetated areas',
    'Moors, heathland and sclerophyllous vegetation',
    'Transitional woodland, shrub',
    'Beaches, dunes, sands',
    'Inland wetlands',
    'Coastal wetlands',
    'Inland waters',
    'Marine waters',
)

#: Band files read for the SkySense S2 encoder, in its input order.
S2_BANDS: Tuple[str, ...] = ('B02', 'B03', 'B04', 'B05', 'B06', 'B07',
                             'B08', 'B8A', 'B11', 'B12')

_BEN19_INDEX = {name: i for i, name in enumerate(BEN19_CLASSES)}


def map_corine_to_ben19(labels: Sequence[str], source: str = '') -> List[int]:
    """Map CORINE level-3 names to sorted 19-class indices.

    Args:
        labels (Sequence[str]): Names of a ``labels_metadata.json``.
        source (str): File named in error messages.

    Returns:
        list[int]: Sorted unique indices into :data:`BEN19_CLASSES` (empty
        when every label maps to nothing).

    Raises:
        ValueError: A name is not one of the 43 CORINE labels.
    """
    out = set()
    for name in labels:
        if name not in CORINE_TO_BEN19:
            raise ValueError(f'{source}: field "labels" holds {name!r}, '
                             'which is not one of the 43 BigEarthNet CORINE '
                             'labels')
        new = CORINE_TO_BEN19[name]
        if new is not None:
            out.add(_BEN19_INDEX[new])
    return sorted(out)


def _read_names(path: str) -> List[str]:
    """First CSV column of every non-empty line (``S2name[,S1name]``)."""
    names = []
    with open(path, newline='') as f:
        for row in csv.reader(f):
            if row and row[0].strip():
                names.append(row[0].strip())
    return names


@DATASETS.register_module()
class BigEarthNetS2Dataset(BaseDataset):
    """BigEarthNet-S2 v1.0 with the 19-class nomenclature (multi-label).

    For SkySense (https://arxiv.org/abs/2312.10115) benchmarks. Each data
    info holds ``img_path`` (the patch folder), ``patch_name`` and
    ``gt_label`` (sorted 19-class indices, a multi-hot target for
    mmpretrain's ``MultiLabelLinearClsHead`` / ``AveragePrecision``).

    Args:
        ann_file (str): Official split CSV, one patch per line as
            ``S2name,S1name`` (rsim/BigEarthNet-MM_19-classes_models
            ``splits/*.csv``) or ``S2name`` only (bigearthnet_common). Empty:
            every patch folder below ``data_prefix['img_path']``.
        data_root (str): Root of the data. Defaults to ''.
        data_prefix (str | dict): Folder of the patch folders (``img_path``).
            Defaults to ''.
        exclude_files (Sequence[str]): CSVs of patch names to drop, e.g.
            ``patches_with_seasonal_snow.csv`` and
            ``patches_with_cloud_and_shadow.csv``. Defaults to ().
        train_ratio (float): Fraction of the patches kept, in (0, 1].
            Defaults to 1.
        subset_seed (int): Seed of the ``train_ratio`` draw. Defaults to 42.
        **kwargs: Other arguments of mmpretrain ``BaseDataset``.

    Attributes:
        skipped_unlabelled (list[str]): Patches skipped because none of
            their CORINE labels maps to a 19-class label.
        num_excluded (int): Patches dropped by ``exclude_files``.
    """

    METAINFO = dict(classes=BEN19_CLASSES)

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 exclude_files: Sequence[str] = (),
                 train_ratio: float = 1.0,
                 subset_seed: int = 42,
                 **kwargs):
        if not 0.0 < float(train_ratio) <= 1.0:
            raise ValueError('BigEarthNetS2Dataset: `train_ratio` must be in '
                             f'(0, 1], got {train_ratio!r}')
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.exclude_files = list(exclude_files)
        self.train_ratio = float(train_ratio)
        self.subset_seed = subset_seed
        self.skipped_unlabelled: List[str] = []
        self.num_excluded = 0
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    def _patch_names(self, img_dir: str) -> List[str]:
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError('BigEarthNetS2Dataset: split file '
                                        f'{self.ann_file} not found')
            names = _read_names(self.ann_file)
            if not names:
                raise ValueError(f'{self.ann_file}: no patch names in the '
                                 'split file')
            return names
        if not osp.isdir(img_dir):
            raise FileNotFoundError('BigEarthNetS2Dataset: patch folder '
                                    f'{img_dir} not found')
        from mmengine.fileio import list_dir_or_file
        names = sorted(list_dir_or_file(img_dir, list_file=False))
        if not names:
            raise ValueError(f'BigEarthNetS2Dataset: no patch folder in '
                             f'{img_dir}')
        return names

    def load_data_list(self) -> List[dict]:
        """Read the split and the label JSON of every patch."""
        img_dir = self.data_prefix.get('img_path', '') or self.data_root
        names = self._patch_names(img_dir)
        excluded = set()
        for path in self.exclude_files:
            if not osp.isabs(path) and self.data_root:
                path = osp.join(self.data_root, path)
            excluded.update(_read_names(path))
        data_list = []
        for name in names:
            if name in excluded:
                self.num_excluded += 1
                continue
            folder = osp.join(img_dir, name)
            json_path = osp.join(folder, f'{name}_labels_metadata.json')
            if not osp.isfile(json_path):
                raise FileNotFoundError(
                    f'BigEarthNetS2Dataset: patch {name}: label file '
                    f'{json_path} not found')
            with open(json_path) as f:
                try:
                    meta = json.load(f)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{json_path}: not valid JSON '
                                     f'({err})') from None
            labels = meta.get('labels') if isinstance(meta, dict) else None
            if not isinstance(labels, list):
                raise ValueError(f'{json_path}: field "labels" is missing or '
                                 'not a list')
            gt = map_corine_to_ben19(labels, json_path)
            if not gt:
                self.skipped_unlabelled.append(name)
                continue
            data_list.append(
                dict(img_path=folder, patch_name=name, gt_label=gt,
                     corine_labels=list(labels)))
        if self.skipped_unlabelled:
            print_log(
                f'BigEarthNetS2Dataset: skipped {len(self.skipped_unlabelled)}'
                ' patches whose CORINE labels map to no 19-class label '
                f'(e.g. {self.skipped_unlabelled[0]})', logger='current')
        if self.train_ratio < 1.0 and data_list:
            k = max(1, int(round(self.train_ratio * len(data_list))))
            rng = np.random.default_rng(self.subset_seed)
            keep = np.sort(rng.permutation(len(data_list))[:k])
            data_list = [data_list[i] for i in keep]
        return data_list


@TRANSFORMS.register_module()
class LoadBigEarthNetS2Bands(BaseTransform):
    """Read the band GeoTIFFs of a BigEarthNet-S2 patch into one image.

    For SkySense (https://arxiv.org/abs/2312.10115). Every band is read by
    rasterio onto a ``size x size`` grid (the 10 m bands at 120x120 are read
    as they are; the 20 m bands are resampled with ``resampling``). Adds
    ``img`` (H, W, len(bands)) float32 in raw DN, ``img_shape`` and
    ``ori_shape``.

    Args:
        bands (Sequence[str]): Band suffixes, in channel order. Defaults to
            :data:`S2_BANDS`.
        size (int): Output side. Defaults to 120 (the 10 m grid).
        resampling (str): rasterio ``Resampling`` name. Defaults to
            ``'bilinear'``.
    """

    def __init__(self,
                 bands: Sequence[str] = S2_BANDS,
                 size: int = 120,
                 resampling: str = 'bilinear'):
        from rasterio.enums import Resampling
        if resampling not in Resampling.__members__:
            raise ValueError('LoadBigEarthNetS2Bands: unknown `resampling` '
                             f'{resampling!r}')
        self.bands = tuple(bands)
        self.size = int(size)
        self.resampling = Resampling[resampling]

    def transform(self, results: dict) -> dict:
        """Read the bands of ``results['img_path']`` (the patch folder)."""
        import rasterio
        folder = results['img_path']
        name = results.get('patch_name') or osp.basename(
            osp.normpath(folder))
        img = np.empty((self.size, self.size, len(self.bands)), np.float32)
        for c, band in enumerate(self.bands):
            path = osp.join(folder, f'{name}_{band}.tif')
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'BigEarthNet patch {name}: band {band} file {path} is '
                    'missing')
            with rasterio.open(path) as src:
                img[..., c] = src.read(
                    1, out_shape=(self.size, self.size),
                    resampling=self.resampling).astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(bands={self.bands}, '
                f'size={self.size}, resampling={self.resampling.name})')
