"""Split FAIR1M v2.0 images into overlapping patches for Oriented R-CNN
(SkySense benchmark, https://arxiv.org/abs/2312.10115, Tab. 2b).

Input, the official layout: ``IMG_DIR/<id>.tif`` and (train/val)
``--ann-dir labelXml/<id>.xml``. Output, what ``skysense_mm.FAIR1MDataset``
reads (and mmrotate's DOTA tooling)::

    OUT/images/<id>__<size>__<x>___<y>.png
    OUT/annfiles/<id>__<size>__<x>___<y>.txt   (DOTA txt, with --ann-dir)

The splitting is MMRotate's own (``tools/data/dota/split/img_split.py``,
shipped in the mmrotate wheel under ``mmrotate/.mim/tools``, imported from
there): sliding windows of ``--size`` with ``--gap`` pixels of overlap (the
last window shifted inward), windows kept if the image covers > 0.6 of them,
zero padding to the full size, and an object kept in a patch when its
retained area ratio (polygon intersection over object area) is >= 0.7 as in
the DOTA devkit; kept but cut objects keep their full corners and get
difficulty 2. Class names are written with ``_`` for spaces
(``Cargo_Truck``). Defaults: size 1024, gap 200 (the usual single-scale
FAIR1M/DOTA protocol; our choice, the paper does not state it).

Objects in no patch (larger than a window, or cut by the image border) are
counted as ``lost`` in the summary, never dropped silently; degenerate or
fully-outside label polygons are counted as ``skipped`` by the parser.

Merging patch detections back to full images is
``skysense_mm.evaluation.metrics.fair1m_metric.merge_patch_detections``
(used by ``FAIR1MMetric`` at test time).

    python tools/dataset_converters/fair1m_split.py \
        data/FAIR1M/train/part1/images data/FAIR1M/split/train \
        --ann-dir data/FAIR1M/train/part1/labelXml
"""
import argparse
import glob
import importlib.util
import os
import os.path as osp
from collections import Counter
from typing import Optional

import numpy as np

IMG_EXTS = ('.tif', '.tiff', '.png', '.jpg', '.bmp')


def load_mmrotate_img_split():
    """MMRotate's ``tools/data/dota/split/img_split.py`` as a module.

    Raises:
        ImportError: when the installed mmrotate does not ship it.
    """
    import mmrotate
    path = osp.join(osp.dirname(mmrotate.__file__), '.mim', 'tools', 'data',
                    'dota', 'split', 'img_split.py')
    if not osp.isfile(path):
        raise ImportError(f'mmrotate splitting tool not found at {path}; '
                          'install mmrotate from its wheel (with .mim tools)')
    spec = importlib.util.spec_from_file_location('mmrotate_img_split', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_fair1m_info(img_path: str, xml_path: Optional[str] = None) -> dict:
    """One image's info in the form mmrotate's splitter expects.

    Args:
        img_path (str): The image.
        xml_path (str, optional): Its FAIR1M label XML (None: no labels).

    Returns:
        dict: ``id``, ``filename``, ``width``, ``height``, ``ann`` (``bboxes``
        ``(N, 8)``, ``labels`` DOTA tokens, ``diffs``), ``skipped``.
    """
    from skysense_mm.datasets.fair1m import dota_token, parse_fair1m_xml
    from PIL import Image
    with Image.open(img_path) as im:
        width, height = im.size
    stem = osp.splitext(osp.basename(img_path))[0]
    bboxes, labels, skipped = np.zeros((0, 8), np.float32), [], []
    if xml_path is not None:
        ann = parse_fair1m_xml(xml_path)
        if ann['width'] is not None and (ann['width'], ann['height']) != (
                width, height):
            raise ValueError(f'{xml_path}: <size> {ann["width"]}x'
                             f'{ann["height"]} differs from the image '
                             f'{img_path} ({width}x{height})')
        bboxes = ann['qboxes']
        labels = [dota_token(n) for n in ann['names']]
        skipped = ann['skipped']
    return dict(id=stem, filename=osp.basename(img_path), width=width,
                height=height, skipped=skipped,
                ann=dict(bboxes=bboxes, labels=labels,
                         diffs=np.zeros(len(labels), np.int64)))


def split_image(info: dict, img_dir: str, out_dir: str, size: int = 1024,
                gap: int = 200, iof_thr: float = 0.7,
                img_rate_thr: float = 0.6, padding_value: int = 0,
                save_ext: str = '.png', splitter=None) -> dict:
    """Split one image (and its labels) into patches.

    Args:
        info (dict): From :func:`load_fair1m_info`.
        img_dir (str): Folder of ``info['filename']``.
        out_dir (str): Gets ``images/`` and ``annfiles/``.
        size (int): Patch size.
        gap (int): Overlap of neighbouring patches.
        iof_thr (float): Minimal retained area ratio of a kept object.
        img_rate_thr (float): Minimal image fraction of a kept window.
        padding_value (int): Fill value of padded patch borders.
        save_ext (str): Patch image extension.
        splitter: The loaded mmrotate module (loaded when None).

    Returns:
        dict: ``patches`` (mmrotate patch infos), ``lost`` (indices of
        objects in no patch), ``skipped`` (from the parser).
    """
    if size <= gap:
        raise ValueError(f'patch size {size} must exceed the gap {gap}')
    split = splitter or load_mmrotate_img_split()
    img_path = osp.join(img_dir, info['filename'])
    import cv2
    if cv2.imread(img_path, cv2.IMREAD_UNCHANGED) is None:
        raise ValueError(f'{img_path}: cannot be read as an image')
    out_imgs, out_anns = osp.join(out_dir, 'images'), osp.join(
        out_dir, 'annfiles')
    os.makedirs(out_imgs, exist_ok=True)
    os.makedirs(out_anns, exist_ok=True)
    windows = split.get_sliding_window(info, [size], [gap], img_rate_thr)
    bboxes = info['ann']['bboxes']
    lost = []
    if len(bboxes):
        iofs = split.bbox_overlaps_iof(bboxes, windows)
        lost = np.nonzero(iofs.max(axis=1) < iof_thr)[0].tolist()
    window_anns = split.get_window_obj(info, windows, iof_thr)
    patches = split.crop_and_save_img(info, windows, window_anns, img_dir,
                                      False, padding_value, out_imgs,
                                      out_anns, save_ext)
    return dict(patches=patches, lost=lost, skipped=info['skipped'])


def split_folder(img_dir: str, out_dir: str, ann_dir: Optional[str] = None,
                 **kwargs) -> dict:
    """Split every image of ``img_dir``; see :func:`split_image`.

    Returns:
        dict: counts ``images``, ``patches``, ``objects``, ``lost``,
        ``skipped`` (reason -> count).

    Raises:
        ValueError: no images, or an image without its label XML.
    """
    imgs = sorted(f for f in glob.glob(osp.join(img_dir, '*'))
                  if f.lower().endswith(IMG_EXTS))
    if not imgs:
        raise ValueError(f'{img_dir}: no images ({", ".join(IMG_EXTS)})')
    splitter = load_mmrotate_img_split()
    stats = Counter()
    skipped = Counter()
    for img in imgs:
        xml = None
        if ann_dir is not None:
            stem = osp.splitext(osp.basename(img))[0]
            xml = osp.join(ann_dir, f'{stem}.xml')
            if not osp.isfile(xml):
                raise ValueError(f'{img}: no label file {xml}')
        info = load_fair1m_info(img, xml)
        res = split_image(info, img_dir, out_dir, splitter=splitter,
                          **kwargs)
        stats['images'] += 1
        stats['patches'] += len(res['patches'])
        stats['objects'] += len(info['ann']['labels'])
        stats['lost'] += len(res['lost'])
        skipped.update(reason for _, reason in res['skipped'])
    return dict(stats, skipped=dict(skipped))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Split FAIR1M images into overlapping patches')
    parser.add_argument('img_dir', help='official images/ folder')
    parser.add_argument('out_dir', help='gets images/ and annfiles/')
    parser.add_argument('--ann-dir', help='official labelXml/ folder')
    parser.add_argument('--size', type=int, default=1024)
    parser.add_argument('--gap', type=int, default=200)
    parser.add_argument('--iof-thr', type=float, default=0.7)
    parser.add_argument('--img-rate-thr', type=float, default=0.6)
    parser.add_argument('--save-ext', default='.png')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import skysense_mm  # noqa: F401  (mmrotate compat)
    stats = split_folder(args.img_dir, args.out_dir, args.ann_dir,
                         size=args.size, gap=args.gap, iof_thr=args.iof_thr,
                         img_rate_thr=args.img_rate_thr,
                         save_ext=args.save_ext)
    print(' '.join(f'{k}={v}' for k, v in stats.items()))
    return stats


if __name__ == '__main__':
    main()
