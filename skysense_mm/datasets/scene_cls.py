"""AID and NWPU-RESISC45 scene classification for the SkySense benchmark
(https://arxiv.org/abs/2312.10115, Tab. 3: linear head, overall accuracy;
AID 97.68 / 98.60 at train ratio 20% / 50%, RESISC45 94.85 / 96.32 at
10% / 20%).

Both data sets are released as one folder per class:

* AID (Xia et al., TGRS 2017): ``AID/<Class>/<class>_<n>.jpg``, 30 classes
  (CamelCase folder names, e.g. ``BareLand``), 220-420 images of 600x600.
* NWPU-RESISC45 (Cheng et al., Proc. IEEE 2017):
  ``NWPU-RESISC45/<class>/<class>_<nnn>.jpg``, 45 classes (snake_case
  folder names, e.g. ``baseball_diamond``), 700 images of 256x256 each.

Neither release has an official train/test split: papers draw a random
stratified split at a "training ratio" (TR). The class order used for label
indices is the alphabetical order of the official folder names (Python
``sorted``, i.e. code-point order), which is the order of
``torchvision.datasets.ImageFolder`` / mmpretrain ``CustomDataset`` on the
complete tree, of TensorFlow Datasets' ``resisc45`` and of most public
code. ``tools/dataset_converters/make_cls_split.py`` writes seeded split
files (``<Class>/<file>.jpg <label>`` lines) that these datasets read.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from mmpretrain.datasets import CustomDataset

from skysense_mm.registry import DATASETS

__all__ = [
    'AID_CLASSES', 'RESISC45_CLASSES', 'SCENE_CLS_CLASSES', 'AIDDataset',
    'RESISC45Dataset', 'scan_scene_tree', 'read_split_file', 'natural_key'
]

#: The 30 AID classes (official folder names, alphabetical).
AID_CLASSES = ('Airport', 'BareLand', 'BaseballField', 'Beach', 'Bridge',
               'Center', 'Church', 'Commercial', 'DenseResidential', 'Desert',
               'Farmland', 'Forest', 'Industrial', 'Meadow',
               'MediumResidential', 'Mountain', 'Park', 'Parking',
               'Playground', 'Pond', 'Port', 'RailwayStation', 'Resort',
               'River', 'School', 'SparseResidential', 'Square', 'Stadium',
               'StorageTanks', 'Viaduct')
#: The 45 NWPU-RESISC45 classes (official folder names, alphabetical).
RESISC45_CLASSES = (
    'airplane', 'airport', 'baseball_diamond', 'basketball_court', 'beach',
    'bridge', 'chaparral', 'church', 'circular_farmland', 'cloud',
    'commercial_area', 'dense_residential', 'desert', 'forest', 'freeway',
    'golf_course', 'ground_track_field', 'harbor', 'industrial_area',
    'intersection', 'island', 'lake', 'meadow', 'medium_residential',
    'mobile_home_park', 'mountain', 'overpass', 'palace', 'parking_lot',
    'railway', 'railway_station', 'rectangular_farmland', 'river',
    'roundabout', 'runway', 'sea_ice', 'ship', 'snowberg',
    'sparse_residential', 'stadium', 'storage_tank', 'tennis_court',
    'terrace', 'thermal_power_station', 'wetland')
#: Class lists by the ``--dataset`` names of make_cls_split.py.
SCENE_CLS_CLASSES = dict(aid=AID_CLASSES, resisc45=RESISC45_CLASSES)
#: File name endings counted as images (case-insensitive).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp')


def natural_key(name: str) -> List:
    """Sort key ordering ``a_2.jpg`` before ``a_10.jpg``.

    Args:
        name (str): A file name.

    Returns:
        list: Text and integer chunks.
    """
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', name)]


def scan_scene_tree(root: str,
                    classes: Sequence[str],
                    allow_missing_classes: bool = False
                    ) -> Dict[str, List[str]]:
    """List the images of an official folder-per-class tree.

    Args:
        root (str): Folder holding one sub-folder per class.
        classes (Sequence[str]): The official class names.
        allow_missing_classes (bool): Accept a tree in which some official
            classes have no folder (e.g. a sample of the data set). Defaults
            to False (an incomplete tree is an error).

    Returns:
        dict[str, list[str]]: Class name -> relative paths
        ``<Class>/<file>`` in natural order, for the classes present, in
        the official class order.

    Raises:
        FileNotFoundError: If ``root`` is not a folder.
        ValueError: For a folder not in ``classes``, a file that is not an
            image (hidden files are ignored), a class folder without images,
            a file directly under ``root``, or (unless
            ``allow_missing_classes``) official classes without a folder.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'scene classification root {root!r} is not '
                                'a folder')
    known = set(classes)
    entries = sorted(e for e in os.listdir(root) if not e.startswith('.'))
    for name in entries:
        path = osp.join(root, name)
        if not osp.isdir(path):
            raise ValueError(f'{path}: a file directly under the data root; '
                             'expected one folder per class')
        if name not in known:
            raise ValueError(
                f'{path}: folder {name!r} is not one of the '
                f'{len(classes)} official classes ({", ".join(classes)})')
    missing = [c for c in classes if c not in entries]
    if missing and not allow_missing_classes:
        raise ValueError(f'{root}: no folder for the official classes '
                         f'{missing} (use allow_missing_classes for a '
                         'partial tree)')
    samples = {}
    for cls in classes:
        if cls in missing:
            continue
        folder = osp.join(root, cls)
        files = []
        for f in sorted(os.listdir(folder), key=natural_key):
            if f.startswith('.'):
                continue
            path = osp.join(folder, f)
            if not osp.isfile(path) or not f.lower().endswith(
                    IMAGE_EXTENSIONS):
                raise ValueError(f'{path}: not an image file (expected '
                                 f'{", ".join(IMAGE_EXTENSIONS)})')
            files.append(f'{cls}/{f}')
        if not files:
            raise ValueError(f'{folder}: class folder {cls!r} has no images')
        samples[cls] = files
    return samples


def read_split_file(ann_file: str, classes: Sequence[str],
                    root: Optional[str] = None) -> List[Tuple[str, int]]:
    """Parse and check a split file of ``<Class>/<file> <label>`` lines.

    Args:
        ann_file (str): The split file (make_cls_split.py output).
        classes (Sequence[str]): The official class names.
        root (str, optional): Image root; when given, every listed file must
            exist below it.

    Returns:
        list[tuple[str, int]]: ``(relative path, label)`` per line.

    Raises:
        ValueError: For an empty file, a malformed line, a label out of
            range, a path whose class folder is not the label's class, or a
            duplicate path (the message names the file and the line).
        FileNotFoundError: For a listed image missing below ``root``.
    """
    with open(ann_file, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f]
    out, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not line:
            continue
        where = f'{ann_file}, line {n} ({line!r})'
        parts = line.rsplit(' ', 1)
        if len(parts) != 2 or not re.fullmatch(r'\d+', parts[1]):
            raise ValueError(f'{where}: expected "<Class>/<file> <label>"')
        rel, label = parts[0], int(parts[1])
        if label >= len(classes):
            raise ValueError(f'{where}: label {label} out of range for '
                             f'{len(classes)} classes')
        folder = rel.replace('\\', '/').split('/')[0]
        if folder not in classes:
            raise ValueError(f'{where}: class folder {folder!r} is not one of '
                             f'the {len(classes)} official classes')
        if folder != classes[label]:
            raise ValueError(f'{where}: label {label} is {classes[label]!r} '
                             f'but the file is in folder {folder!r}')
        if rel in seen:
            raise ValueError(f'{where}: {rel!r} listed twice')
        seen.add(rel)
        if root is not None and not osp.isfile(osp.join(root, rel)):
            raise FileNotFoundError(f'{where}: image {osp.join(root, rel)} '
                                    'does not exist')
        out.append((rel, label))
    if not out:
        raise ValueError(f'{ann_file}: split file lists no images')
    return out


class _SceneClsDataset(CustomDataset):
    """Folder-per-class scene classification data set with a fixed,
    official class list (base of :class:`AIDDataset` and
    :class:`RESISC45Dataset`; SkySense: https://arxiv.org/abs/2312.10115).

    Without ``ann_file`` every image of the tree under
    ``data_root``/``data_prefix`` is listed (labels from the folder names);
    with ``ann_file`` (a make_cls_split.py split file, relative to
    ``data_root``) only the listed images, after checking each line.

    Args:
        allow_missing_classes (bool): Without ``ann_file``, accept a tree in
            which some official classes have no folder (a sample of the
            data set). Defaults to False.
        **kwargs: Passed to mmpretrain ``CustomDataset`` (``data_root``,
            ``data_prefix``, ``ann_file``, ``pipeline``, ...). ``metainfo``
            may not change the classes.
    """

    METAINFO: dict = dict(classes=())

    def __init__(self, allow_missing_classes: bool = False, **kwargs):
        self.allow_missing_classes = allow_missing_classes
        metainfo = kwargs.get('metainfo') or {}
        if 'classes' in metainfo and tuple(
                metainfo['classes']) != self.METAINFO['classes']:
            raise ValueError(f'{type(self).__name__}: the class list is the '
                             'official one and cannot be changed by metainfo')
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the tree or the split file (see the class docstring).

        Returns:
            list[dict]: ``img_path`` and ``gt_label`` per image.
        """
        classes = self.METAINFO['classes']
        root = self.img_prefix
        if self.ann_file:
            samples = read_split_file(self.ann_file, classes, root)
        else:
            tree = scan_scene_tree(root, classes, self.allow_missing_classes)
            samples = [(rel, classes.index(c)) for c, rels in tree.items()
                       for rel in rels]
        return [dict(img_path=osp.join(root, rel), gt_label=label)
                for rel, label in samples]


@DATASETS.register_module()
class AIDDataset(_SceneClsDataset):
    """AID aerial scene classification, 30 classes (Xia et al., TGRS 2017).

    SkySense (https://arxiv.org/abs/2312.10115) reports OA 97.68 / 98.60
    with a linear head at train ratios 20% / 50%. Official tree
    ``AID/<Class>/<class>_<n>.jpg``; labels index :data:`AID_CLASSES`.

    Args:
        allow_missing_classes (bool): See :class:`_SceneClsDataset`.
        **kwargs: Passed to mmpretrain ``CustomDataset``.
    """
    METAINFO = dict(classes=AID_CLASSES)


@DATASETS.register_module()
class RESISC45Dataset(_SceneClsDataset):
    """NWPU-RESISC45 scene classification, 45 classes (Cheng et al.,
    Proc. IEEE 2017).

    SkySense (https://arxiv.org/abs/2312.10115) reports OA 94.85 / 96.32
    with a linear head at train ratios 10% / 20%. Official tree
    ``NWPU-RESISC45/<class>/<class>_<nnn>.jpg``; labels index
    :data:`RESISC45_CLASSES`.

    Args:
        allow_missing_classes (bool): See :class:`_SceneClsDataset`.
        **kwargs: Passed to mmpretrain ``CustomDataset``.
    """
    METAINFO = dict(classes=RESISC45_CLASSES)
