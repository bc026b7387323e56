"""Crop the official ISPRS Potsdam tiles into the 512x512 patches of the
mmseg layout, for the SkySense Potsdam benchmark
(https://arxiv.org/abs/2312.10115, Tab. 2a, mF1).

Input, the official release (ISPRS 2D semantic labelling, Potsdam): the
6000x6000 tiles ``top_potsdam_<i>_<j>_RGB.tif`` (``2_Ortho_RGB``) and the
colour labels ``top_potsdam_<i>_<j>_label.tif`` (``5_Labels_all``) or
``..._label_noBoundary.tif`` (``5_Labels_all_noBoundary``, mmseg's
choice), anywhere under ``ROOT`` or inside ``*.zip`` archives there.

Output (mmseg layout, read by ``skysense_mm.PotsdamDataset``)::

    <out>/img_dir/{train,val}/<i>_<j>_<x0>_<y0>_<x1>_<y1>.png   RGB
    <out>/ann_dir/{train,val}/<i>_<j>_<x0>_<y0>_<x1>_<y1>.png   0..6

Labels: ISPRS colours -> 1 impervious surface (255,255,255), 2 building
(0,0,255), 3 low vegetation (0,255,255), 4 tree (0,255,0), 5 car
(255,255,0), 6 clutter (255,0,0); 0 = black boundary/undefined (ignored
by the dataset's ``reduce_zero_label``). Any other colour is an error
naming the file (mmseg silently writes 0); ``--unknown-to-ignore`` maps it
to 0 instead. Split by tile id as mmseg: ``TRAIN_TILES`` (24 tiles) are
train, the other 14 val.

Crops: 512x512 windows, the last one per axis shifted inward to end at the
border. Stride: mmseg's script advertises ``--stride_size 256`` but places
windows at multiples of the *clip* size (``xmin = x * clip_size``), so the
tiles it actually writes are the non-overlapping 512 grid plus the
border-aligned last row/column (12x12 = 144 per 6000x6000 tile). Our
default ``--stride 512`` reproduces exactly that tile set (pixels and
names, checked against mmseg's function in the tests);
``--stride 256`` gives the overlapping crops mmseg intended.

    python tools/dataset_converters/potsdam.py ROOT -o data/potsdam
"""
import argparse
import glob
import os
import os.path as osp
import re
import sys
import tempfile
import zipfile

import numpy as np
import rasterio
from PIL import Image

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from skysense_mm.datasets.potsdam import POTSDAM_PALETTE  # noqa: E402
from skysense_mm.datasets.tiling import tile_boxes  # noqa: E402
from skysense_mm.datasets.transforms.seg_loading import \
    rgb_to_index  # noqa: E402

TRAIN_TILES = ('2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10', '4_11',
               '4_12', '5_10', '5_11', '5_12', '6_10', '6_11', '6_12', '6_7',
               '6_8', '6_9', '7_10', '7_11', '7_12', '7_7', '7_8', '7_9')
VAL_TILES = ('5_15', '6_15', '6_13', '3_13', '4_14', '6_14', '5_14', '2_13',
             '4_15', '2_14', '5_13', '4_13', '3_14', '7_13')
# colour -> label value (0 boundary, 1..6 the classes of PotsdamDataset)
LABEL_COLORS = {(0, 0, 0): 0,
                **{c: i + 1 for i, c in enumerate(POTSDAM_PALETTE)}}
IMAGE_RE = re.compile(r'top_potsdam_(\d+)_(\d+)_RGB\.tif$')
LABEL_RE = re.compile(r'top_potsdam_(\d+)_(\d+)_label(_noBoundary)?\.tif$')


def read_tif(path: str, bands: int = 3) -> np.ndarray:
    """Read a tile as ``(H, W, bands)`` uint8.

    Args:
        path (str): GeoTIFF/TIFF file.
        bands (int): Required band count. Defaults to 3.

    Returns:
        np.ndarray: The pixels.
    """
    try:
        with rasterio.open(path) as src:
            data = src.read()
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f'{path}: unreadable tile ({exc})') from exc
    if data.shape[0] != bands:
        raise ValueError(f'{path}: expected {bands} bands (RGB), got '
                         f'{data.shape[0]}; use the 2_Ortho_RGB tiles')
    if data.dtype != np.uint8:
        raise ValueError(f'{path}: expected uint8 pixels, got {data.dtype}')
    return np.ascontiguousarray(data.transpose(1, 2, 0))


def colour_to_label(rgb: np.ndarray, filename: str,
                    unknown_to_ignore: bool = False) -> np.ndarray:
    """ISPRS colour label -> values 0 (boundary) and 1..6.

    Args:
        rgb (np.ndarray): ``(H, W, 3)`` RGB label.
        filename (str): For error messages.
        unknown_to_ignore (bool): Map unknown colours to 0 instead of
            raising.

    Returns:
        np.ndarray: ``(H, W)`` uint8.
    """
    return rgb_to_index(rgb, LABEL_COLORS, 0 if unknown_to_ignore else None,
                        filename)


def find_tiles(roots: list, label_kind: str) -> dict:
    """``{tile id: (image path, label path)}`` under ``roots``.

    Args:
        roots (list[str]): Folders searched recursively.
        label_kind (str): ``'noBoundary'`` or ``'all'``.

    Returns:
        dict: The pairs; a tile with an image but no label is an error.
    """
    images, labels = {}, {}
    paths = [p for root in roots
             for p in glob.glob(osp.join(root, '**', '*.tif'), recursive=True)]
    for path in sorted(paths):
        name = osp.basename(path)
        m = IMAGE_RE.search(name)
        if m:
            images[f'{m.group(1)}_{m.group(2)}'] = path
            continue
        m = LABEL_RE.search(name)
        if m and (m.group(3) is not None) == (label_kind == 'noBoundary'):
            labels[f'{m.group(1)}_{m.group(2)}'] = path
    if not images:
        raise FileNotFoundError(
            f'{roots[0]}: no top_potsdam_<i>_<j>_RGB.tif (or zip of them)')
    missing = sorted(set(images) - set(labels))
    if missing:
        raise FileNotFoundError(
            f'{images[missing[0]]}: no {label_kind} label tile '
            f'(missing for tiles {missing})')
    return {k: (images[k], labels[k]) for k in images}


def convert_tile(tile_id: str, img_path: str, label_path: str, out_dir: str,
                 clip: int = 512, stride: int = 512,
                 unknown_to_ignore: bool = False) -> list:
    """Crop one official tile and its label.

    Args:
        tile_id (str): ``<i>_<j>``.
        img_path (str): The RGB tile.
        label_path (str): Its colour label.
        out_dir (str): Output root.
        clip (int): Crop size. Defaults to 512.
        stride (int): Crop stride. Defaults to 512 (mmseg's actual tiles).
        unknown_to_ignore (bool): See :func:`colour_to_label`.

    Returns:
        list[str]: The crop names written.
    """
    img = read_tif(img_path)
    colour = read_tif(label_path)
    if img.shape != colour.shape:
        raise ValueError(f'{label_path}: label size {colour.shape[:2]} '
                         f'differs from image size {img.shape[:2]} of '
                         f'{img_path}')
    if min(img.shape[:2]) < clip:
        raise ValueError(f'{img_path}: tile {img.shape[:2]} smaller than '
                         f'the crop {clip}')
    label = colour_to_label(colour, label_path, unknown_to_ignore)
    split = 'train' if tile_id in TRAIN_TILES else 'val'
    names = []
    for y0, y1, x0, x1 in tile_boxes(img.shape[0], img.shape[1], clip,
                                     stride):
        name = f'{tile_id}_{x0}_{y0}_{x1}_{y1}.png'
        Image.fromarray(img[y0:y1, x0:x1]).save(
            osp.join(out_dir, 'img_dir', split, name))
        Image.fromarray(label[y0:y1, x0:x1]).save(
            osp.join(out_dir, 'ann_dir', split, name))
        names.append(osp.join(split, name))
    return names


def convert(root: str, out_dir: str, clip: int = 512, stride: int = 512,
            label_kind: str = 'noBoundary', unknown_to_ignore: bool = False,
            tmp_dir: str = None) -> dict:
    """Convert all tiles under ``root`` (zips extracted first).

    Args:
        root (str): Folder with the official tiles or zips.
        out_dir (str): Output root.
        clip (int): Crop size. Defaults to 512.
        stride (int): Crop stride. Defaults to 512.
        label_kind (str): ``'noBoundary'`` (default) or ``'all'``.
        unknown_to_ignore (bool): See :func:`colour_to_label`.
        tmp_dir (str, optional): Where to extract zips.

    Returns:
        dict: ``{'train': n, 'val': n}`` crops written.
    """
    for split in ('train', 'val'):
        for sub in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(out_dir, sub, split), exist_ok=True)
    counts = {'train': 0, 'val': 0}
    with tempfile.TemporaryDirectory(dir=tmp_dir) as tmp:
        for zpath in sorted(glob.glob(osp.join(root, '**', '*.zip'),
                                      recursive=True)):
            with zipfile.ZipFile(zpath) as zf:
                zf.extractall(osp.join(tmp, osp.basename(zpath)[:-4]))
        tiles = find_tiles([root, tmp], label_kind)
        for tile_id, (img_path, label_path) in sorted(tiles.items()):
            for name in convert_tile(tile_id, img_path, label_path, out_dir,
                                     clip, stride, unknown_to_ignore):
                counts[name.split(os.sep)[0]] += 1
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Crop official ISPRS Potsdam tiles to 512x512 patches')
    parser.add_argument('dataset_path', help='folder with the tiles or zips')
    parser.add_argument('-o', '--out-dir', default=osp.join('data',
                                                            'potsdam'))
    parser.add_argument('--clip-size', type=int, default=512)
    parser.add_argument('--stride', type=int, default=512,
                        help='512 = the tiles mmseg\'s script writes; 256 = '
                        'the overlap its help text intends')
    parser.add_argument('--labels', choices=['noBoundary', 'all'],
                        default='noBoundary')
    parser.add_argument('--unknown-to-ignore', action='store_true',
                        help='map colours outside the ISPRS legend to 0 '
                        '(ignored) instead of failing')
    parser.add_argument('--tmp-dir', default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    counts = convert(args.dataset_path, args.out_dir, args.clip_size,
                     args.stride, args.labels, args.unknown_to_ignore,
                     args.tmp_dir)
    print(f'train: {counts["train"]} crops, val: {counts["val"]} crops, '
          f'written to {args.out_dir}')


if __name__ == '__main__':
    main()
