"""DynamicEarthNet (Toker et al., CVPR 2022) monthly land-cover segmentation
and semantic change segmentation for the SkySense benchmark
(https://arxiv.org/abs/2312.10115, Tab. 2c: Dyna.-Pla mIoU 46.5, Dyna.-S2
mIoU 46.2 and SCS 18.0 on test).

Reads the official release layout (BENCHMARK_PROTOCOLS.md (a)) unchanged:

- ``planet/<zone>/<grid>/<cube>/PF-SR/YYYY-MM-DD.tif``: daily 4-band
  PlanetFusion surface reflectance stored B, G, R, NIR;
- ``labels/<cube>_<zone>/Labels/Raster/<dir>/<dir>-YYYY_MM_01.tif``: one
  7-band one-hot label (0/255) per month;
- ``sentinel2/<cube>/<cube>_YYYY_MM.tif``: monthly S2 composites (path
  pattern and 12-band order [UNCONFIRMED], both configurable);
- ``dynnet_training_splits/{train,val,test}.txt``: one ``<planet PF-SR dir>
  <label tif> <YYYY-MM>`` line per (cube, month). The Planet directory is
  taken as its last four components (``<zone>/<grid>/<cube>/PF-SR``) below
  ``planet/``, so both the original ``/reprocess-cropped/UTM-24000/`` prefix
  and PANGAEA's ``/planet/`` rewrite work; the label path is taken relative
  to ``data_root``.

One sample per split line: the label month of one cube. For a split
without public labels use ``with_label=False`` (the metric then writes the
CodaLab submission only). Classes 0-5 as in
the official loader; snow & ice (one-hot band 6) and pixels with no class
set become the ignore value 255 (``LoadDynamicEarthNetAnnotations``).
"""
import os.path as osp
from typing import List, Optional, Sequence

from mmseg.datasets import BaseSegDataset

from skysense_mm.registry import DATASETS

DYNAMICEARTHNET_CLASSES = ('impervious_surface', 'agriculture',
                           'forest_and_other_vegetation', 'wetlands', 'soil',
                           'water')
# Display colours (RGB); not part of the evaluation.
DYNAMICEARTHNET_PALETTE = ((96, 96, 96), (204, 204, 0), (0, 204, 0),
                           (0, 0, 153), (153, 76, 0), (0, 128, 255))
#: Days of the label month read by the ``weekly`` sampling (official loader).
WEEKLY_DAYS = (1, 5, 10, 15, 20, 25)
FRAME_DAYS = dict(single=(1, ), weekly=WEEKLY_DAYS)
#: Stored band order of the S2 monthly composites ([UNCONFIRMED]: 12 bands,
#: all but B09, per GeoBench-v2 / the torchgeo draft).
S2_STORED_BANDS = ('B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08',
                   'B8A', 'B10', 'B11', 'B12')
#: The 10 bands of the SkySense S2 encoder, in its input order.
SKYSENSE_S2_BANDS = ('B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A',
                     'B11', 'B12')


def parse_split_line(line: str, filename: str, lineno: int) -> dict:
    """Parse one line of an official ``dynnet_training_splits`` file.

    Args:
        line (str): ``<.../<zone>/<grid>/<cube>/PF-SR> <label tif> <YYYY-MM>``.
        filename (str): Split file, for error messages.
        lineno (int): 1-based line number, for error messages.

    Returns:
        dict: ``planet_dir`` (relative, below ``planet/``), ``label``
        (relative path), ``cube_id``, ``zone``, ``month`` (``YYYY-MM``).
    """
    fields = line.split()
    where = f'{filename}:{lineno}'
    if len(fields) != 3:
        raise ValueError(f'{where}: expected 3 space-separated fields '
                         f'(planet dir, label file, YYYY-MM), got {line!r}')
    planet, label, month = fields
    parts = planet.strip('/').split('/')
    if len(parts) < 4 or parts[-1] != 'PF-SR':
        raise ValueError(f'{where}: planet path {planet!r} does not end in '
                         '<zone>/<grid>/<cube>/PF-SR')
    ym = month.split('-')
    if len(ym) != 2 or not all(p.isdigit() for p in ym):
        raise ValueError(f'{where}: month {month!r} is not YYYY-MM')
    return dict(
        planet_dir=osp.join('planet', *parts[-4:]),
        label=label.lstrip('/'),
        cube_id=parts[-2],
        zone=parts[-4],
        month=month)


@DATASETS.register_module()
class DynamicEarthNetDataset(BaseSegDataset):
    """DynamicEarthNet in the official release layout, one sample per
    (cube, label month) of an official split file.

    Sample fields read by ``skysense_mm.LoadDynamicEarthNetImage``:
    ``img_path`` (the label-date image: Planet ``YYYY-MM-01.tif`` or the S2
    composite of the month), ``frame_paths`` (all input rasters, in time
    order), ``modality``; plus ``seg_map_path`` (the one-hot label),
    ``cube_id``, ``zone``, ``month``.

    Modalities:

    - ``'planet'``: the PlanetFusion frames of the label month, ``frames=
      'single'`` (day 01, the label date; default) or ``'weekly'`` (days 01,
      05, 10, 15, 20, 25, the official loader's weekly sampling);
    - ``'s2'``: the S2 monthly composite of the label month (a series of one
      date for the SkySense S2 encoder).

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``; selects
            ``dynnet_training_splits/<split>.txt`` when ``ann_file`` is
            empty. Defaults to ``'train'``.
        modality (str): ``'planet'`` or ``'s2'``. Defaults to ``'planet'``.
        frames (str): Planet sampling, ``'single'`` or ``'weekly'``.
            Defaults to ``'single'``.
        s2_path_template (str): S2 composite path below ``data_root``, with
            ``{cube}``, ``{zone}``, ``{year}``, ``{month}`` ([UNCONFIRMED]).
            Defaults to ``'sentinel2/{cube}/{cube}_{year}_{month}.tif'``.
        ann_file (str): Split file; defaults to the official one of
            ``split``.
        check_files (bool): Raise ``FileNotFoundError`` naming the first
            missing input or label file at construction. Defaults to True.
        with_label (bool): Whether label files must exist. False for a
            split without public labels: ``seg_map_path`` is still the
            split file's label path (it names the submission PNGs) but is
            neither checked nor read (leave ``LoadDynamicEarthNetAnnotations``
            out of the pipeline). Defaults to True.
        **kwargs: Passed to mmseg ``BaseSegDataset``.
    """
    METAINFO = dict(classes=DYNAMICEARTHNET_CLASSES,
                    palette=[list(c) for c in DYNAMICEARTHNET_PALETTE])

    def __init__(self,
                 split: str = 'train',
                 modality: str = 'planet',
                 frames: str = 'single',
                 s2_path_template: str = (
                     'sentinel2/{cube}/{cube}_{year}_{month}.tif'),
                 ann_file: str = '',
                 check_files: bool = True,
                 with_label: bool = True,
                 **kwargs) -> None:
        if modality not in ('planet', 's2'):
            raise ValueError("modality must be 'planet' or 's2', got "
                             f'{modality!r}')
        if frames not in FRAME_DAYS:
            raise ValueError(f'frames must be one of {sorted(FRAME_DAYS)}, '
                             f'got {frames!r}')
        self.split = split
        self.modality = modality
        self.frames = frames
        self.s2_path_template = s2_path_template
        self.check_files = check_files
        self.with_label = with_label
        if not ann_file:
            if split not in ('train', 'val', 'test'):
                raise ValueError("split must be 'train', 'val' or 'test', "
                                 f'got {split!r}')
            ann_file = f'dynnet_training_splits/{split}.txt'
        super().__init__(ann_file=ann_file, **kwargs)

    def _frame_paths(self, rec: dict) -> List[str]:
        year, month = rec['month'].split('-')
        if self.modality == 's2':
            rel = self.s2_path_template.format(
                cube=rec['cube_id'], zone=rec['zone'], year=year, month=month)
            return [osp.join(self.data_root or '', rel)]
        folder = osp.join(self.data_root or '', rec['planet_dir'])
        return [
            osp.join(folder, f'{year}-{month}-{day:02d}.tif')
            for day in FRAME_DAYS[self.frames]
        ]

    def _label_path(self, rec: dict, where: str) -> str:
        path = osp.join(self.data_root or '', rec['label'])
        if osp.isfile(path) or not (self.check_files and self.with_label):
            return path
        # some cubes name their labels <dir>-YYYY-MM-01.tif (README)
        year, month = rec['month'].split('-')
        head = path[:-len('YYYY_MM_01.tif')]
        for variant in (f'{head}{year}-{month}-01.tif',
                        f'{head}{year}_{month}_01.tif'):
            if osp.isfile(variant):
                return variant
        raise FileNotFoundError(f'{where}: label file {path} not found')

    def load_data_list(self) -> List[dict]:
        """Read the split file; one info dict per (cube, month).

        Returns:
            list[dict]: The data infos.
        """
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'split file {self.ann_file} not found')
        with open(self.ann_file) as f:
            lines = f.read().splitlines()
        data_list = []
        seen = set()
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f'{self.ann_file}:{lineno}'
            rec = parse_split_line(line, self.ann_file, lineno)
            key = (rec['cube_id'], rec['month'])
            if key in seen:
                raise ValueError(f'{where}: cube {key[0]} month {key[1]} is '
                                 'listed twice')
            seen.add(key)
            frames = self._frame_paths(rec)
            if self.check_files:
                for path in frames:
                    if not osp.isfile(path):
                        raise FileNotFoundError(
                            f'{where}: {self.modality} input file {path} not '
                            f'found (cube {rec["cube_id"]}, month '
                            f'{rec["month"]})')
            data_list.append(
                dict(
                    img_path=frames[0],
                    frame_paths=frames,
                    modality=self.modality,
                    seg_map_path=self._label_path(rec, where),
                    cube_id=rec['cube_id'],
                    zone=rec['zone'],
                    month=rec['month'],
                    label_map=self.label_map,
                    reduce_zero_label=False,
                    num_classes=len(self.metainfo['classes']),
                    ignore_index=self.ignore_index,
                    seg_fields=[]))
        if not data_list:
            raise ValueError(f'split file {self.ann_file} lists no sample')
        return data_list

    def cube_months(self) -> dict:
        """``{cube_id: sorted months}`` of the loaded split.

        Returns:
            dict: Cube id to the sorted list of its ``YYYY-MM`` months.
        """
        out = {}
        for i in range(len(self)):
            info = self.get_data_info(i)
            out.setdefault(info['cube_id'], []).append(info['month'])
        return {k: sorted(v) for k, v in out.items()}


def s2_band_indices(stored: Sequence[str] = S2_STORED_BANDS,
                    wanted: Sequence[str] = SKYSENSE_S2_BANDS,
                    filename: Optional[str] = None) -> List[int]:
    """Positions of ``wanted`` bands in the ``stored`` band order.

    Args:
        stored (Sequence[str]): Band names in file order.
        wanted (Sequence[str]): Band names to keep, in output order.
        filename (str, optional): For the error message.

    Returns:
        list[int]: 0-based band positions.
    """
    missing = [b for b in wanted if b not in stored]
    if missing:
        raise ValueError(f'{filename or "S2 composite"}: bands {missing} '
                         f'are not among the stored bands {list(stored)}')
    return [list(stored).index(b) for b in wanted]
