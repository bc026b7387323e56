"""Change-detection datasets: LEVIR-CD and OSCD in their release layouts.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115) reports the F1 of the
change class on LEVIR-CD (92.58) and OSCD (60.06), Tab. 2c.

- :class:`LEVIRCDDataset` reads the official ``<split>/{A,B,label}/*.png``
  layout (1024x1024 tiles) or the 256x256 crops written by
  ``tools/dataset_converters/levircd.py`` (same layout, BIT-CD naming).
- :class:`OSCDDataset` reads the Onera release: ``Onera Satellite Change
  Detection dataset - Images/<city>/imgs_{1,2}_rect/B01..B12,B8A.tif``,
  ``dates.txt``, ``train.txt`` / ``test.txt`` and the labels archive
  ``.../<city>/cm/cm.png``, keeping the 10 bands of the SkySense S2 encoder.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import mmengine
from mmseg.datasets import BaseCDDataset

from skysense_mm.registry import DATASETS

__all__ = ['LEVIRCDDataset', 'OSCDDataset', 'OSCD_BANDS', 'S2_BANDS_10']

_CD_METAINFO = dict(
    classes=('unchanged', 'changed'), palette=[[0, 0, 0], [255, 255, 255]])

#: The 13 band files of every OSCD date folder.
OSCD_BANDS = ('B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A',
              'B09', 'B10', 'B11', 'B12')
#: The 10 S2 bands of the SkySense S2 encoder, in its channel order.
S2_BANDS_10 = ('B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B11',
               'B12')


@DATASETS.register_module()
class LEVIRCDDataset(BaseCDDataset):
    """LEVIR-CD in its release layout ``A/``, ``B/``, ``label/``.

    Every image in ``A`` needs the same file name in ``B`` and ``label``;
    a missing one raises ``FileNotFoundError`` naming it. Masks are 0/255
    and are mapped to 0/1 by
    :class:`~skysense_mm.datasets.transforms.LoadChangeLabelFromFile`.
    ``ann_file`` (optional) lists sample names, one a line, as BIT-CD's
    ``list/<split>.txt``.

    Args:
        data_prefix (dict): ``img_path`` / ``img_path2`` / ``seg_map_path``
            folders relative to ``data_root``. Defaults to ``A``, ``B``,
            ``label``.
        img_suffix (str): Suffix of the A and B images. Defaults to '.png'.
        seg_map_suffix (str): Suffix of the masks. Defaults to '.png'.
        **kwargs: Passed to mmseg ``BaseCDDataset``.
    """

    METAINFO = _CD_METAINFO

    def __init__(self,
                 data_prefix: dict = dict(
                     img_path='A', img_path2='B', seg_map_path='label'),
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            img_suffix2=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Pair every A image with its B image and mask.

        Returns:
            list[dict]: ``img_path``, ``img_path2``, ``seg_map_path`` and
            the dataset fields of every sample, sorted by name.

        Raises:
            FileNotFoundError: A folder, a B image or a mask is missing.
        """
        dirs = {k: self.data_prefix.get(k) for k in
                ('img_path', 'img_path2', 'seg_map_path')}
        for key, folder in dirs.items():
            if not folder or not osp.isdir(folder):
                raise FileNotFoundError(
                    f'{folder}: LEVIR-CD folder for {key} not found')
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'{self.ann_file}: ann_file not found')
            names = [
                osp.splitext(line.strip())[0]
                for line in mmengine.list_from_file(self.ann_file)
                if line.strip()
            ]
        else:
            names = sorted(
                f[:-len(self.img_suffix)] for f in os.listdir(dirs['img_path'])
                if f.endswith(self.img_suffix))
        data_list = []
        for name in names:
            info = dict(
                img_path=osp.join(dirs['img_path'], name + self.img_suffix),
                img_path2=osp.join(dirs['img_path2'], name + self.img_suffix),
                seg_map_path=osp.join(dirs['seg_map_path'],
                                      name + self.seg_map_suffix))
            for key, what in (('img_path', 'A image'),
                              ('img_path2', f'B image for {name}'),
                              ('seg_map_path', f'label for {name}')):
                if not osp.isfile(info[key]):
                    raise FileNotFoundError(f'{info[key]}: missing {what}')
            info.update(
                label_map=self.label_map,
                reduce_zero_label=self.reduce_zero_label,
                seg_fields=[])
            data_list.append(info)
        return data_list


@DATASETS.register_module()
class OSCDDataset(BaseCDDataset):
    """Onera Satellite Change Detection (OSCD) in its release layout.

    ``data_root`` holds the three release folders::

        Onera Satellite Change Detection dataset - Images/
            train.txt, test.txt          # comma-separated city names
            <city>/dates.txt             # "date_1: YYYYMMDD", "date_2: ..."
            <city>/imgs_1_rect/B01.tif ... B12.tif, B8A.tif   (13 bands)
            <city>/imgs_2_rect/...
        Onera Satellite Change Detection dataset - Train Labels/
            <city>/cm/cm.png             # 0 = no change, 255 = change
        Onera Satellite Change Detection dataset - Test Labels/
            <city>/cm/cm.png

    Each sample is one city: ``img_path`` / ``img_path2`` are the lists of
    the ``bands`` files (default: the 10 bands of the SkySense S2 encoder,
    B2-B8, B8A, B11, B12, in that order) for the two dates, loaded by
    :class:`~skysense_mm.datasets.transforms.LoadBiTemporalImageFromFile`.
    A date folder without exactly the 13 OSCD band files raises an error
    naming the folder and the missing / extra files.

    Args:
        split (str): ``'train'`` or ``'test'``: the city list file and the
            labels folder. Defaults to ``'train'``.
        cities (Sequence[str], optional): Use these cities instead of the
            split file.
        bands (Sequence[str]): Band files to load, in channel order.
            Defaults to :data:`S2_BANDS_10`.
        images_dir (str): Images folder under ``data_root``.
        labels_dir (str, optional): Labels folder under ``data_root``;
            defaults to ``'Onera Satellite Change Detection dataset -
            {Train|Test} Labels'`` for the split.
        **kwargs: Passed to mmseg ``BaseCDDataset``.
    """

    METAINFO = _CD_METAINFO
    IMAGES_DIR = 'Onera Satellite Change Detection dataset - Images'
    LABELS_DIR = 'Onera Satellite Change Detection dataset - {} Labels'

    def __init__(self,
                 split: str = 'train',
                 cities: Optional[Sequence[str]] = None,
                 bands: Sequence[str] = S2_BANDS_10,
                 images_dir: str = IMAGES_DIR,
                 labels_dir: Optional[str] = None,
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        unknown = sorted(set(bands) - set(OSCD_BANDS))
        if unknown:
            raise ValueError(f'bands {unknown} are not OSCD bands '
                             f'{OSCD_BANDS}')
        self.split = split
        self.cities = list(cities) if cities is not None else None
        self.bands = tuple(bands)
        self.images_dir = images_dir
        self.labels_dir = labels_dir or self.LABELS_DIR.format(
            split.capitalize())
        kwargs.setdefault('data_prefix', dict())
        super().__init__(
            img_suffix='.tif', img_suffix2='.tif', seg_map_suffix='.png',
            reduce_zero_label=False, **kwargs)

    def _root(self, sub: str) -> str:
        return osp.join(self.data_root, sub) if self.data_root else sub

    def _city_list(self, images: str) -> List[str]:
        if self.cities is not None:
            return self.cities
        list_file = osp.join(images, f'{self.split}.txt')
        if not osp.isfile(list_file):
            raise FileNotFoundError(
                f'{list_file}: OSCD city list not found (or pass cities=)')
        with open(list_file) as f:
            return [c.strip() for c in f.read().split(',') if c.strip()]

    def _date_bands(self, folder: str) -> List[str]:
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{folder}: OSCD date folder not found')
        found = {osp.splitext(f)[0] for f in os.listdir(folder)
                 if f.lower().endswith('.tif')}
        missing = sorted(set(OSCD_BANDS) - found)
        extra = sorted(found - set(OSCD_BANDS))
        if missing or extra:
            raise ValueError(
                f'{folder}: expected the {len(OSCD_BANDS)} OSCD band files '
                f'B01..B12,B8A, found {len(found)} (missing {missing}, '
                f'unexpected {extra})')
        return [osp.join(folder, b + '.tif') for b in self.bands]

    @staticmethod
    def read_dates(path: str) -> List[str]:
        """Read ``dates.txt`` (``date_1: YYYYMMDD`` lines).

        Args:
            path (str): The file.

        Returns:
            list[str]: ``[date_1, date_2]`` as ``YYYYMMDD`` strings.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: OSCD dates.txt not found')
        dates = {}
        with open(path) as f:
            for line in f:
                if ':' in line:
                    key, value = line.split(':', 1)
                    dates[key.strip()] = value.split()[-1] if value.split() \
                        else ''
        out = [dates.get('date_1', ''), dates.get('date_2', '')]
        for key, d in zip(('date_1', 'date_2'), out):
            if not (len(d) == 8 and d.isdigit()):
                raise ValueError(f'{path}: field {key} is not YYYYMMDD '
                                 f'(got {d!r})')
        return out

    def load_data_list(self) -> List[dict]:
        """One sample per city.

        Returns:
            list[dict]: ``img_path`` / ``img_path2`` (band file lists),
            ``seg_map_path``, ``city``, ``dates``.
        """
        images = self._root(self.images_dir)
        labels = self._root(self.labels_dir)
        data_list = []
        for city in self._city_list(images):
            city_dir = osp.join(images, city)
            if not osp.isdir(city_dir):
                raise FileNotFoundError(f'{city_dir}: OSCD city not found')
            cm = osp.join(labels, city, 'cm', 'cm.png')
            if not osp.isfile(cm):
                raise FileNotFoundError(f'{cm}: missing change mask for '
                                        f'{city}')
            data_list.append(
                dict(
                    img_path=self._date_bands(
                        osp.join(city_dir, 'imgs_1_rect')),
                    img_path2=self._date_bands(
                        osp.join(city_dir, 'imgs_2_rect')),
                    seg_map_path=cm,
                    city=city,
                    dates=self.read_dates(osp.join(city_dir, 'dates.txt')),
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[]))
        return data_list
