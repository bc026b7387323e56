"""FAIR1M v2.0 oriented object detection for the SkySense benchmark
(https://arxiv.org/abs/2312.10115, Tab. 2b: Oriented R-CNN, mAP 54.57).

FAIR1M (Sun et al., "FAIR1M: A benchmark dataset for fine-grained object
recognition in high-resolution remote sensing imagery", ISPRS J. 2022,
arXiv:2103.05569) labels 37 fine-grained classes in 5 categories. The
official layout is ``<split>/images/<id>.tif`` + ``<split>/labelXml/<id>.xml``;
each ``<object>`` has ``<possibleresult><name>`` and ``<points>`` with 5
``<point>x,y</point>`` (the 4 corners, the first repeated). The class names
below are spelled as in the label XMLs; their order is the one of the
paper's class table (airplanes, ships, vehicles, courts, roads), the same
order the public FAIR1M-to-DOTA converters use for label ids.

The same module reads and writes DOTA txt labels (``x1 y1 ... x4 y4 class
difficult``), which the patch splitter
(``tools/dataset_converters/fair1m_split.py``) writes per patch. DOTA class
tokens cannot contain spaces, so FAIR1M names are written with ``_`` for
spaces (``Cargo_Truck``) and mapped back on reading.

Bad input policy: unknown class names, malformed points, empty or broken
files raise ``ValueError`` naming the file and the object; degenerate
polygons (area < ``min_area``) and objects lying entirely outside the image
are skipped and counted (``skipped`` in the parse result, a warning in the
dataset) unless ``skip_invalid=False``. Objects partly outside the image are
kept unchanged: the official labels routinely extend a few pixels past the
border.
"""
import glob
import logging
import os
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np

from skysense_mm.registry import DATASETS
from skysense_mm.structures.rotated_boxes import polygon_area

FAIR1M_CLASSES = (
    # airplanes
    'Boeing737', 'Boeing747', 'Boeing777', 'Boeing787', 'C919', 'A220',
    'A321', 'A330', 'A350', 'ARJ21', 'other-airplane',
    # ships
    'Passenger Ship', 'Motorboat', 'Fishing Boat', 'Tugboat',
    'Engineering Ship', 'Liquid Cargo Ship', 'Dry Cargo Ship', 'Warship',
    'other-ship',
    # vehicles
    'Small Car', 'Bus', 'Cargo Truck', 'Dump Truck', 'Van', 'Trailer',
    'Tractor', 'Excavator', 'Truck Tractor', 'other-vehicle',
    # courts
    'Basketball Court', 'Tennis Court', 'Football Field', 'Baseball Field',
    # roads
    'Intersection', 'Roundabout', 'Bridge')


def dota_token(name: str) -> str:
    """Class name as one DOTA txt token (spaces become ``_``)."""
    return name.replace(' ', '_')


def check_quad(quad: np.ndarray, width: Optional[int], height: Optional[int],
               min_area: float = 1.0) -> Optional[str]:
    """Why a quadrilateral is unusable, or None if it is fine.

    Args:
        quad (np.ndarray): ``(8,)`` corner coordinates.
        width (int, optional): Image width; no outside check when None.
        height (int, optional): Image height.
        min_area (float): Smallest polygon area in px^2.

    Returns:
        str | None: ``'degenerate'``, ``'outside'`` or None.
    """
    if polygon_area(quad) < min_area:
        return 'degenerate'
    if width is not None and height is not None:
        xs, ys = quad[0::2], quad[1::2]
        if (xs.max() <= 0 or ys.max() <= 0 or xs.min() >= width
                or ys.min() >= height):
            return 'outside'
    return None


def _text(node, path: str, field: str, where: str) -> str:
    child = node.find(field)
    if child is None or child.text is None or not child.text.strip():
        raise ValueError(f'{path}: {where} has no <{field}>')
    return child.text.strip()


def _read_xml_root(path: str):
    if not osp.isfile(path):
        raise ValueError(f'{path}: annotation file not found')
    if os.path.getsize(path) == 0:
        raise ValueError(f'{path}: empty annotation file')
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ValueError(f'{path}: not a valid FAIR1M XML ({err})') from err


def parse_fair1m_xml(path: str,
                     classes: Sequence[str] = FAIR1M_CLASSES,
                     skip_invalid: bool = True,
                     min_area: float = 1.0) -> dict:
    """Parse one FAIR1M label (or submission) XML.

    Args:
        path (str): The XML file.
        classes (Sequence[str]): Known class names.
        skip_invalid (bool): Skip (and count) degenerate polygons and objects
            entirely outside the image instead of raising.
        min_area (float): Polygons with a smaller area (px^2) are degenerate.

    Returns:
        dict: ``filename`` (``<source><filename>``), ``width``/``height``
        (None without ``<size>``), ``qboxes`` ``(N, 8)`` float32 corners,
        ``names`` (class names), ``labels`` ``(N,)`` int64 indices into
        ``classes``, ``scores`` ``(N,)`` float32 (``<probability>``, NaN if
        absent), ``skipped`` list of ``(object index, reason)``.

    Raises:
        ValueError: on an empty/broken file, an unknown class name, or
            malformed points, naming the file and the object.
    """
    root = _read_xml_root(path)
    cls_index = {c: i for i, c in enumerate(classes)}
    source = root.find('source')
    filename = None
    if source is not None and source.find('filename') is not None:
        filename = (source.find('filename').text or '').strip() or None
    width = height = None
    size = root.find('size')
    if size is not None:
        try:
            width = int(float(_text(size, path, 'width', '<size>')))
            height = int(float(_text(size, path, 'height', '<size>')))
        except ValueError as err:
            if 'has no' in str(err):
                raise
            raise ValueError(f'{path}: <size> width/height are not numbers'
                             ) from err
        if width <= 0 or height <= 0:
            raise ValueError(f'{path}: <size> {width}x{height} is not a '
                             'valid image size')
    objects = root.find('objects')
    obj_nodes = [] if objects is None else objects.findall('object')
    quads, names, scores, skipped = [], [], [], []
    for idx, obj in enumerate(obj_nodes):
        where = f'object {idx}'
        result = obj.find('possibleresult')
        if result is None:
            raise ValueError(f'{path}: {where} has no <possibleresult>')
        name = _text(result, path, 'name', where)
        if name not in cls_index:
            raise ValueError(f'{path}: {where} has unknown class {name!r} '
                             f'(not one of the {len(classes)} FAIR1M '
                             'classes)')
        score = _probability(result, path, where)
        quad = _parse_points(obj, path, f'{where} ({name})')
        reason = check_quad(quad, width, height, min_area)
        if reason is not None:
            if not skip_invalid:
                raise ValueError(f'{path}: {where} ({name}) is {reason} '
                                 f'(points {quad.tolist()})')
            skipped.append((idx, reason))
            continue
        quads.append(quad)
        names.append(name)
        scores.append(score)
    return dict(
        filename=filename, width=width, height=height,
        qboxes=np.array(quads, dtype=np.float32).reshape(-1, 8),
        names=names,
        labels=np.array([cls_index[n] for n in names], dtype=np.int64),
        scores=np.array(scores, dtype=np.float32), skipped=skipped)


def _probability(result, path: str, where: str) -> float:
    prob = result.find('probability')
    if prob is None:
        return float('nan')
    try:
        return float(prob.text)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{path}: {where} has a non-numeric <probability> '
                         f'{prob.text!r}') from err


def _parse_points(obj, path: str, where: str) -> np.ndarray:
    points = obj.find('points')
    if points is None:
        raise ValueError(f'{path}: {where} has no <points>')
    xy = []
    for p in points.findall('point'):
        try:
            x, y = (float(v) for v in (p.text or '').split(','))
        except ValueError as err:
            raise ValueError(f'{path}: {where} has a malformed point '
                             f'{p.text!r} (expected "x,y")') from err
        xy.append((x, y))
    if len(xy) == 5 and np.allclose(xy[0], xy[4], atol=1e-3):
        xy = xy[:4]
    if len(xy) != 4:
        raise ValueError(f'{path}: {where} has {len(xy)} points; FAIR1M '
                         'objects have 4 corners (+ the first repeated)')
    return np.array(xy, dtype=np.float32).reshape(8)


def dump_fair1m_xml(path: str, filename: str, qboxes: np.ndarray,
                    names: Sequence[str],
                    scores: Optional[np.ndarray] = None,
                    size: Optional[tuple] = None) -> None:
    """Write one image's objects in the FAIR1M XML schema.

    With ``scores`` this is the official submission format (one XML per
    test image; ``<probability>`` under ``<possibleresult>``).

    Args:
        path (str): Output XML file.
        filename (str): ``<source><filename>``, e.g. ``'1.tif'``.
        qboxes (np.ndarray): ``(N, 8)`` corners.
        names (Sequence[str]): Class name per object.
        scores (np.ndarray, optional): Confidence per object.
        size (tuple, optional): ``(width, height)`` written as ``<size>``.
    """
    with open(path, 'w', encoding='utf-8') as f:
        f.write(fair1m_xml_string(filename, qboxes, names, scores, size))


def fair1m_xml_string(filename: str, qboxes: np.ndarray,
                      names: Sequence[str],
                      scores: Optional[np.ndarray] = None,
                      size: Optional[tuple] = None) -> str:
    """The text :func:`dump_fair1m_xml` writes."""
    qboxes = np.asarray(qboxes, dtype=np.float64).reshape(-1, 8)
    lines = ['<?xml version="1.0" encoding="utf-8"?>', '<annotation>',
             '\t<source>', f'\t\t<filename>{filename}</filename>',
             '\t\t<origin>GF2/GF3</origin>', '\t</source>',
             '\t<research>', '\t\t<version>2.0</version>',
             '\t\t<provider>skysense_mm</provider>',
             '\t\t<author>skysense_mm</author>',
             '\t\t<pluginname>FAIR1M</pluginname>',
             '\t\t<pluginclass>object detection</pluginclass>',
             '\t\t<time>2021-07-21</time>', '\t</research>']
    if size is not None:
        lines += ['\t<size>', f'\t\t<width>{int(size[0])}</width>',
                  f'\t\t<height>{int(size[1])}</height>',
                  '\t\t<depth>3</depth>', '\t</size>']
    lines.append('\t<objects>')
    for i, (quad, name) in enumerate(zip(qboxes, names)):
        lines += ['\t\t<object>', '\t\t\t<coordinate>pixel</coordinate>',
                  '\t\t\t<type>rectangle</type>',
                  '\t\t\t<description>None</description>',
                  '\t\t\t<possibleresult>', f'\t\t\t\t<name>{name}</name>']
        if scores is not None:
            lines.append(
                f'\t\t\t\t<probability>{float(scores[i]):.6f}</probability>')
        lines += ['\t\t\t</possibleresult>', '\t\t\t<points>']
        pts = quad.reshape(4, 2).tolist()
        for x, y in pts + pts[:1]:
            lines.append(f'\t\t\t\t<point>{x:.6f},{y:.6f}</point>')
        lines += ['\t\t\t</points>', '\t\t</object>']
    lines += ['\t</objects>', '</annotation>', '']
    return '\n'.join(lines)


def parse_dota_txt(path: str, classes: Sequence[str],
                   name_map: Optional[Dict[str, str]] = None) -> dict:
    """Parse a DOTA label txt (``x1 y1 ... x4 y4 class [difficult]``).

    Header lines ``imagesource:...`` and ``gsd:...`` are read as metadata.

    Args:
        path (str): The txt file.
        classes (Sequence[str]): Known class names.
        name_map (dict, optional): Token -> class name (e.g. ``Cargo_Truck``
            -> ``Cargo Truck``); tokens not in it are used as they are.

    Returns:
        dict: ``qboxes`` ``(N, 8)``, ``names``, ``labels`` ``(N,)``,
        ``difficulties`` ``(N,)``, ``gsd`` (float or None), ``imagesource``.

    Raises:
        ValueError: a malformed line or an unknown class, naming the file
            and the line number.
    """
    if not osp.isfile(path):
        raise ValueError(f'{path}: annotation file not found')
    cls_index = {c: i for i, c in enumerate(classes)}
    name_map = name_map or {}
    quads, names, diffs = [], [], []
    meta = dict(gsd=None, imagesource=None)
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        key = line.split(':', 1)[0].strip()
        if key in ('imagesource', 'gsd') and ':' in line:
            value = line.split(':', 1)[1].strip()
            if key == 'gsd':
                try:
                    value = float(value)
                except ValueError:
                    value = None  # the devkit writes 'gsd:null'
            meta[key] = value
            continue
        items = line.split()
        if len(items) not in (9, 10):
            raise ValueError(f'{path}: line {lineno} has {len(items)} '
                             'fields; expected "x1 y1 ... x4 y4 class '
                             f'[difficult]": {line!r}')
        try:
            quad = [float(v) for v in items[:8]]
            diff = int(items[9]) if len(items) == 10 else 0
        except ValueError as err:
            raise ValueError(f'{path}: line {lineno} has non-numeric '
                             f'coordinates/difficulty: {line!r}') from err
        name = name_map.get(items[8], items[8])
        if name not in cls_index:
            raise ValueError(f'{path}: line {lineno} has unknown class '
                             f'{items[8]!r}')
        quads.append(quad)
        names.append(name)
        diffs.append(diff)
    return dict(
        qboxes=np.array(quads, dtype=np.float32).reshape(-1, 8),
        names=names,
        labels=np.array([cls_index[n] for n in names], dtype=np.int64),
        difficulties=np.array(diffs, dtype=np.int64), **meta)


def _palette(n: int) -> List[tuple]:
    rng = np.random.RandomState(37)
    return [tuple(int(c) for c in rng.randint(0, 256, 3)) for _ in range(n)]


def _dota_dataset_base():
    from mmrotate.datasets import DOTADataset
    return DOTADataset


@DATASETS.register_module()
class FAIR1MDataset(_dota_dataset_base()):
    """FAIR1M v2.0 (37 classes) for Oriented R-CNN
    (https://arxiv.org/abs/2312.10115).

    ``ann_file`` is a folder (as in mmrotate's ``DOTADataset``) of either
    official ``*.xml`` labels (images ``data_prefix['img_path']/<stem>.tif``)
    or DOTA ``*.txt`` labels of split patches (written by
    ``tools/dataset_converters/fair1m_split.py``; images ``<stem>.png``).
    ``ann_file=''`` lists the images of ``data_prefix['img_path']`` without
    labels (the official test split). Instances carry the corners
    (``bbox``, 8 values) for ``LoadAnnotations(box_type='qbox')``.

    Args:
        ann_format (str): ``'auto'`` (from the files found), ``'xml'`` or
            ``'txt'``.
        img_suffix (str, optional): Image extension; default ``'tif'`` for
            XML labels and label-free listing, ``'png'`` for patches.
        skip_invalid (bool): Count and skip degenerate polygons / objects
            entirely outside the image instead of raising.
        **kwargs: ``DOTADataset`` arguments (``img_shape`` of the patches,
            ``diff_thr``) and ``BaseDataset`` arguments.
    """

    METAINFO = dict(classes=FAIR1M_CLASSES, palette=_palette(37))

    def __init__(self, ann_format: str = 'auto',
                 img_suffix: Optional[str] = None,
                 skip_invalid: bool = True, **kwargs) -> None:
        if ann_format not in ('auto', 'xml', 'txt'):
            raise ValueError(f"ann_format must be 'auto', 'xml' or 'txt', "
                             f'got {ann_format!r}')
        self.ann_format = ann_format
        self.img_suffix = img_suffix
        self.skip_invalid = skip_invalid
        self.skipped = Counter()
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """Read every label file of ``ann_file`` (see the class doc)."""
        img_dir = self.data_prefix.get('img_path', '')
        if not self.ann_file:
            return self._list_images(img_dir)
        if not osp.isdir(self.ann_file):
            raise ValueError(f'FAIR1MDataset: ann_file {self.ann_file!r} '
                             'is not a folder of label files')
        xmls = sorted(glob.glob(osp.join(self.ann_file, '*.xml')))
        txts = sorted(glob.glob(osp.join(self.ann_file, '*.txt')))
        fmt = self.ann_format
        if fmt == 'auto':
            if xmls and txts:
                raise ValueError(f'{self.ann_file}: holds both .xml and '
                                 ".txt labels; set ann_format='xml'/'txt'")
            fmt = 'xml' if xmls else 'txt'
        files = xmls if fmt == 'xml' else txts
        if not files:
            raise ValueError(f'{self.ann_file}: no *.{fmt} label files')
        suffix = self.img_suffix or ('tif' if fmt == 'xml' else 'png')
        data_list = [
            self._load_one(f, fmt, img_dir, suffix) for f in files
        ]
        if self.skipped:
            from mmengine.logging import print_log
            print_log(f'FAIR1MDataset {self.ann_file}: skipped objects '
                      f'{dict(self.skipped)}', logger='current',
                      level=logging.WARNING)
        return data_list

    def _load_one(self, path: str, fmt: str, img_dir: str,
                  suffix: str) -> dict:
        stem = osp.splitext(osp.basename(path))[0]
        img_path = osp.join(img_dir, f'{stem}.{suffix}')
        if not osp.isfile(img_path):
            raise ValueError(f'{path}: image {img_path} not found')
        if fmt == 'xml':
            ann = parse_fair1m_xml(path, self.metainfo['classes'],
                                   self.skip_invalid)
            self.skipped.update(reason for _, reason in ann['skipped'])
            height, width = ann['height'], ann['width']
            if height is None:
                from PIL import Image
                with Image.open(img_path) as im:
                    width, height = im.size
            diffs = np.zeros(len(ann['names']), dtype=np.int64)
        else:
            name_map = {dota_token(c): c for c in self.metainfo['classes']}
            ann = parse_dota_txt(path, self.metainfo['classes'], name_map)
            height, width = self.img_shape
            diffs = ann['difficulties']
        instances = [
            dict(bbox=q.tolist(), bbox_label=int(lab),
                 ignore_flag=int(d > self.diff_thr))
            for q, lab, d in zip(ann['qboxes'], ann['labels'], diffs)
        ]
        return dict(img_id=stem, file_name=osp.basename(img_path),
                    img_path=img_path, height=height, width=width,
                    instances=instances)

    def _list_images(self, img_dir: str) -> List[dict]:
        suffix = self.img_suffix or 'tif'
        files = sorted(glob.glob(osp.join(img_dir, f'*.{suffix}')))
        if not files:
            raise ValueError(f'{img_dir}: no *.{suffix} images')
        from PIL import Image
        data_list = []
        for f in files:
            with Image.open(f) as im:
                width, height = im.size
            data_list.append(dict(
                img_id=osp.splitext(osp.basename(f))[0],
                file_name=osp.basename(f), img_path=f, height=height,
                width=width, instances=[]))
        return data_list
