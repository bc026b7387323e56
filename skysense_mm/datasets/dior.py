"""DIOR (horizontal boxes) and DIOR-R (oriented boxes) for the SkySense
detection benchmarks (https://arxiv.org/abs/2312.10115, Tab. 2b: Faster
R-CNN on DIOR, mAP50 78.73; Oriented R-CNN on DIOR-R, mAP 74.27).

DIOR (Li et al., ISPRS 2020) has 23,463 images of 800x800 px and 20 object
classes; DIOR-R (Cheng et al., TGRS 2022) re-annotates the same objects with
oriented boxes. The official release layout (also the one of MMRotate's
``configs/_base_/datasets/dior.py``) is::

    DIOR/
    ├── JPEGImages-trainval/00001.jpg ... 11725.jpg
    ├── JPEGImages-test/11726.jpg ... 23463.jpg
    ├── Annotations/
    │   ├── Horizontal Bounding Boxes/<id>.xml   (VOC <bndbox>)
    │   └── Oriented Bounding Boxes/<id>.xml     (<robndbox> corners + <angle>)
    └── ImageSets/Main/{train,val,test}.txt      (one image id per line)

Image and annotation folders are ``data_prefix`` entries
(``img_path``, ``ann_path``), so other layouts work by configuration only,
e.g. the real samples in ``../shared/data/DIOR``: MMRotate's test fixture
(``JPEGImage/``, singular, + ``Annotations/Oriented Bounding Boxes/``) and
rsclip's copy (``annotations/{horizontal,oriented}/``).

Class names are matched case-insensitively: the official XMLs spell two of
them ``Expressway-Service-area`` / ``Expressway-toll-station``; the dataset
reports MMRotate's lower-case names.
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List

import numpy as np
from mmdet.datasets import BaseDetDataset
from mmengine.fileio import list_from_file
from mmengine.logging import MMLogger

from skysense_mm.registry import DATASETS
from skysense_mm.structures.rotated_boxes import (polygon_area,
                                                qboxes_to_rboxes)

DIOR_CLASSES = ('airplane', 'airport', 'baseballfield', 'basketballcourt',
                'bridge', 'chimney', 'expressway-service-area',
                'expressway-toll-station', 'dam', 'golffield',
                'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium',
                'storagetank', 'tenniscourt', 'trainstation', 'vehicle',
                'windmill')
# MMRotate's DIORDataset palette (mmrotate/datasets/dior.py)
DIOR_PALETTE = [(220, 20, 60), (119, 11, 32), (0, 0, 142), (0, 0, 230),
                (106, 0, 228), (0, 60, 100), (0, 80, 100), (0, 0, 70),
                (0, 0, 192), (250, 170, 30), (100, 170, 30), (220, 220, 0),
                (175, 116, 175), (250, 0, 30), (165, 42, 42), (255, 77, 255),
                (0, 226, 252), (182, 182, 255), (0, 82, 0), (120, 166, 157)]

ROBNDBOX_FIELDS = ('x_left_top', 'y_left_top', 'x_right_top', 'y_right_top',
                   'x_right_bottom', 'y_right_bottom', 'x_left_bottom',
                   'y_left_bottom')
BNDBOX_FIELDS = ('xmin', 'ymin', 'xmax', 'ymax')


def _read_floats(parent: ET.Element, fields, where: str) -> List[float]:
    """Read the numeric children ``fields`` of ``parent``; ``where`` names
    the file and object in the error."""
    values = []
    for field in fields:
        node = parent.find(field)
        if node is None or node.text is None:
            raise ValueError(f'{where}: missing <{field}>')
        try:
            values.append(float(node.text))
        except ValueError:
            raise ValueError(f'{where}: <{field}> is not a number: '
                             f'{node.text!r}') from None
    if not np.all(np.isfinite(values)):
        raise ValueError(f'{where}: non-finite coordinate in {values}')
    return values


class _DIORXMLDataset(BaseDetDataset):
    """Shared reader of the DIOR / DIOR-R XML files listed in an
    ``ImageSets/Main/<split>.txt`` file.

    Bad input raises ``ValueError`` / ``FileNotFoundError`` naming the XML
    file and the object index (0-based order of ``<object>`` in the file):
    a missing or unparsable (e.g. empty) XML, a missing or non-numeric
    coordinate, an unknown class name, a degenerate box, a box entirely
    outside the image. XMLs without objects are kept and counted
    (``num_empty``); ``filter_cfg=dict(filter_empty_gt=True)`` drops them
    from training, counted in ``num_filtered_empty``. Counts are logged.

    Args:
        img_suffix (str): Image file suffix. Defaults to ``'.jpg'``.
        **kwargs: Passed to mmdet ``BaseDetDataset``; ``ann_file`` is the
            image-id list, ``data_prefix`` needs ``img_path`` and
            ``ann_path``.
    """
    METAINFO = dict(classes=DIOR_CLASSES, palette=DIOR_PALETTE)
    DEFAULT_ANN_PATH = ''

    def __init__(self, img_suffix: str = '.jpg', **kwargs) -> None:
        self.img_suffix = img_suffix
        data_prefix = dict(img_path='JPEGImages-trainval',
                           ann_path=self.DEFAULT_ANN_PATH)
        data_prefix.update(kwargs.pop('data_prefix', {}))
        self.num_empty = 0
        self.num_filtered_empty = 0
        super().__init__(data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read every listed image's XML (see the class docstring)."""
        classes = self._metainfo.get('classes')
        self._name2label = {c.lower(): i for i, c in enumerate(classes)}
        self.num_empty = 0
        self._reset_counters()
        img_ids = [i.strip() for i in
                   list_from_file(self.ann_file,
                                  backend_args=self.backend_args)]
        data_list = []
        for img_id in img_ids:
            if not img_id:
                continue
            xml_path = osp.join(self.data_prefix['ann_path'], img_id + '.xml')
            data_info = self.parse_xml(xml_path, img_id)
            if not data_info['instances']:
                self.num_empty += 1
            data_list.append(data_info)
        self._log_counts()
        return data_list

    def parse_xml(self, xml_path: str, img_id: str) -> dict:
        """Parse one annotation file.

        Args:
            xml_path (str): The XML file.
            img_id (str): Its image id (file stem).

        Returns:
            dict: ``img_path``, ``img_id``, ``xml_path``, ``height``,
            ``width`` and ``instances`` (``bbox``, ``bbox_label``,
            ``ignore_flag`` = the ``<difficult>`` flag).
        """
        if not osp.isfile(xml_path):
            raise FileNotFoundError(
                f'{xml_path}: annotation of image id {img_id!r} (listed in '
                f'{self.ann_file}) not found')
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as e:
            raise ValueError(f'{xml_path}: empty or malformed XML ({e})') \
                from None
        img_path = osp.join(self.data_prefix['img_path'],
                            img_id + self.img_suffix)
        size = root.find('size')
        if size is not None:
            width, height = (int(v) for v in _read_floats(
                size, ('width', 'height'), f'{xml_path}: <size>'))
        else:
            import mmcv
            height, width = mmcv.imread(img_path).shape[:2]
        if width <= 0 or height <= 0:
            raise ValueError(f'{xml_path}: <size> {width}x{height} is empty')
        instances = []
        for idx, obj in enumerate(root.findall('object')):
            where = f'{xml_path}: object {idx}'
            name = obj.findtext('name')
            if name is None or name.strip().lower() not in self._name2label:
                raise ValueError(
                    f'{where}: unknown class name {name!r}; DIOR classes '
                    f'are {self._metainfo["classes"]} (case-insensitive)')
            difficult = (obj.findtext('difficult') or '0').strip() or '0'
            if difficult not in ('0', '1'):
                raise ValueError(
                    f'{where}: <difficult> must be 0 or 1, got {difficult!r}')
            instances.append(dict(
                bbox=self._parse_box(obj, where, width, height),
                bbox_label=self._name2label[name.strip().lower()],
                ignore_flag=int(difficult)))
        return dict(img_path=img_path, img_id=img_id, xml_path=xml_path,
                    height=height, width=width, instances=instances)

    def filter_data(self) -> List[dict]:
        """Drop images without objects when
        ``filter_cfg['filter_empty_gt']`` (training only), counted."""
        if self.test_mode or not (self.filter_cfg or {}).get(
                'filter_empty_gt', False):
            return self.data_list
        kept = [d for d in self.data_list if d['instances']]
        self.num_filtered_empty = len(self.data_list) - len(kept)
        if self.num_filtered_empty:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__} ({self.ann_file}): dropped '
                f'{self.num_filtered_empty} images without objects '
                '(filter_empty_gt=True)')
        return kept

    def _reset_counters(self) -> None:
        pass

    def _log_counts(self) -> None:
        if self.num_empty:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__} ({self.ann_file}): {self.num_empty} '
                'annotation files without objects')

    def _parse_box(self, obj: ET.Element, where: str, width: int,
                   height: int) -> list:
        raise NotImplementedError


@DATASETS.register_module()
class DIORDataset(_DIORXMLDataset):
    """DIOR with horizontal boxes (``Annotations/Horizontal Bounding
    Boxes``), 20 classes, for Faster R-CNN (SkySense Tab. 2b, mAP50).

    Boxes are ``[xmin, ymin, xmax, ymax]`` as written in the XML (no VOC
    "minus one": the same pixel frame as DIOR-R's corners and MMRotate's
    DIOR reader). Protocol for boxes leaving the ``<size>`` frame
    ``[0, width] x [0, height]``: ``out_of_image='clip'`` (default) clips
    them to the image and counts them in ``num_clipped`` (logged);
    ``'error'`` raises. A box with ``xmax <= xmin`` or ``ymax <= ymin``, or
    one entirely outside the image, always raises ``ValueError`` naming the
    file and the object index.

    Args:
        out_of_image (str): ``'clip'`` or ``'error'``.
        **kwargs: See ``_DIORXMLDataset`` (``data_prefix`` defaults to
            ``dict(img_path='JPEGImages-trainval',
            ann_path='Annotations/Horizontal Bounding Boxes')``).
    """
    DEFAULT_ANN_PATH = 'Annotations/Horizontal Bounding Boxes'

    def __init__(self, out_of_image: str = 'clip', **kwargs) -> None:
        if out_of_image not in ('clip', 'error'):
            raise ValueError("DIORDataset: out_of_image must be 'clip' or "
                             f"'error', got {out_of_image!r}")
        self.out_of_image = out_of_image
        self.num_clipped = 0
        super().__init__(**kwargs)

    def _reset_counters(self) -> None:
        self.num_clipped = 0

    def _log_counts(self) -> None:
        super()._log_counts()
        if self.num_clipped:
            MMLogger.get_current_instance().warning(
                f'DIORDataset ({self.ann_file}): clipped {self.num_clipped} '
                'boxes to the image')

    def _parse_box(self, obj, where, width, height):
        bnd = obj.find('bndbox')
        if bnd is None:
            raise ValueError(f'{where}: missing <bndbox>')
        x1, y1, x2, y2 = _read_floats(bnd, BNDBOX_FIELDS, where)
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f'{where}: degenerate box [xmin, ymin, xmax, '
                             f'ymax] = {[x1, y1, x2, y2]}')
        cx1, cx2 = min(max(x1, 0), width), min(max(x2, 0), width)
        cy1, cy2 = min(max(y1, 0), height), min(max(y2, 0), height)
        if (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2):
            if self.out_of_image == 'error' or cx2 <= cx1 or cy2 <= cy1:
                raise ValueError(
                    f'{where}: box {[x1, y1, x2, y2]} leaves the '
                    f'{width}x{height} image' +
                    (' entirely' if cx2 <= cx1 or cy2 <= cy1 else
                     " (out_of_image='error')"))
            self.num_clipped += 1
        return [cx1, cy1, cx2, cy2]


@DATASETS.register_module()
class DIORRDataset(_DIORXMLDataset):
    """DIOR-R with oriented boxes (``Annotations/Oriented Bounding Boxes``,
    ``<robndbox>`` corners), 20 classes, for Oriented R-CNN le90 (SkySense
    Tab. 2b, mAP).

    The four corners are converted to ``(cx, cy, w, h, theta)`` le90
    rotated boxes by MMRotate's ``qbox2rbox`` + ``regularize_boxes('le90')``
    (use ``mmdet.LoadAnnotations(box_type='rbox')`` in the pipeline). The
    ``<angle>`` element is not used: the corners define the box. Protocol
    for the image frame: a corner of a rotated box may leave the image
    (kept as annotated, counted in ``num_outside`` and logged; clipping a
    rotated box would change its shape), but a box whose centre is outside
    ``[0, width] x [0, height]`` raises; ``out_of_image='error'`` raises for
    any corner outside. A polygon of (near) zero area (repeated or collinear
    corners) raises ``ValueError`` naming the file and the object index.

    Args:
        out_of_image (str): ``'keep'`` or ``'error'``.
        min_area (float): Polygons with a smaller area (px^2) are degenerate.
            Defaults to 1e-3.
        **kwargs: See ``_DIORXMLDataset`` (``data_prefix`` defaults to
            ``dict(img_path='JPEGImages-trainval',
            ann_path='Annotations/Oriented Bounding Boxes')``).
    """
    DEFAULT_ANN_PATH = 'Annotations/Oriented Bounding Boxes'

    def __init__(self, out_of_image: str = 'keep', min_area: float = 1e-3,
                 **kwargs) -> None:
        if out_of_image not in ('keep', 'error'):
            raise ValueError("DIORRDataset: out_of_image must be 'keep' or "
                             f"'error', got {out_of_image!r}")
        self.out_of_image = out_of_image
        self.min_area = min_area
        self.num_outside = 0
        super().__init__(**kwargs)

    def _reset_counters(self) -> None:
        self.num_outside = 0

    def _log_counts(self) -> None:
        super()._log_counts()
        if self.num_outside:
            MMLogger.get_current_instance().warning(
                f'DIORRDataset ({self.ann_file}): {self.num_outside} rotated '
                'boxes have corners outside the image (kept)')

    def parse_xml(self, xml_path: str, img_id: str) -> dict:
        """Parse one file; the corners of all its objects are converted to
        le90 rotated boxes in one call."""
        info = super().parse_xml(xml_path, img_id)
        if info['instances']:
            corners = np.array([i['bbox'] for i in info['instances']])
            for inst, rbox in zip(info['instances'],
                                  qboxes_to_rboxes(corners)):
                inst['bbox'] = rbox.tolist()
        return info

    def _parse_box(self, obj, where, width, height):
        bnd = obj.find('robndbox')
        if bnd is None:
            raise ValueError(f'{where}: missing <robndbox>')
        corners = np.array(_read_floats(bnd, ROBNDBOX_FIELDS, where),
                           np.float64)
        pts = corners.reshape(4, 2)
        area = polygon_area(pts)
        if area < self.min_area:
            raise ValueError(f'{where}: degenerate polygon (area {area:g} '
                             f'px^2) {corners.tolist()}')
        cx, cy = pts.mean(0)
        inside = ((pts[:, 0] >= 0) & (pts[:, 0] <= width) &
                  (pts[:, 1] >= 0) & (pts[:, 1] <= height)).all()
        if not inside:
            if (self.out_of_image == 'error' or not 0 <= cx <= width
                    or not 0 <= cy <= height):
                raise ValueError(
                    f'{where}: rotated box {corners.tolist()} leaves the '
                    f'{width}x{height} image' +
                    (" (out_of_image='error')" if 0 <= cx <= width and
                     0 <= cy <= height else ' (centre outside)'))
            self.num_outside += 1
        return corners.tolist()
