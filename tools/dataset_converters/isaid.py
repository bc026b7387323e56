"""Tile iSAID into the 896x896 crops of the RingMo/RVSA/mmseg protocol that
SkySense follows (https://arxiv.org/abs/2312.10115, Tab. 2a).

Input, the official layout (CAPTAIN-WHU/iSAID_Devkit), per split
``train``/``val``/``test``: ``<root>/<split>/images/Pxxxx.png`` and the
semantic colour mask ``Pxxxx_instance_color_RGB.png`` next to it or in
``<root>/<split>/Semantic_masks/images/``. ``*.zip`` archives of the
official download found in those folders are extracted to a temporary
folder first.

Output, an mmseg tree read by ``skysense_mm.ISAIDDataset(label_format=
'index')``::

    <out>/img_dir/{train,val}/Pxxxx_<y0>_<y1>_<x0>_<x1>.png
    <out>/ann_dir/{train,val}/Pxxxx_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png
    <out>/img_dir/test/Pxxxx.png            (copied whole: no public labels)

Tiling (mmseg ``tools/dataset_converters/isaid.py``, as RSP/RVSA): windows
of 896 with 384 overlap, i.e. **stride 512**, starting at 0, 512, 1024, ...
along each axis; a window that passes the border is shifted inward to end at
it; duplicate windows are written once. A side shorter than 896 is padded at
the bottom/right (image 0, label 255 = ignore) to 896. Labels are the class
indices 0..15 of the devkit colour map (``skysense_mm.datasets.isaid.
ISAID_PALETTE``); a colour outside it is an error naming the file.

Differences from mmseg's script: a side of exactly 896 next to a shorter one
is padded too (mmseg would slice with a negative start), images are written
as real PNG (mmseg writes BMP bytes under ``.png``), and nothing is silently
mapped to background.

    python tools/dataset_converters/isaid.py ROOT -o data/iSAID
"""
import argparse
import glob
import os
import os.path as osp
import shutil
import sys
import tempfile
import zipfile

import numpy as np
from PIL import Image

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from skysense_mm.datasets.isaid import (DEVKIT_COLOR_SUFFIX,  # noqa: E402
                                        DEVKIT_ID_SUFFIX, ISAID_PALETTE)
from skysense_mm.datasets.tiling import pad_to, tile_boxes  # noqa: E402
from skysense_mm.datasets.transforms.seg_loading import \
    rgb_to_index  # noqa: E402

PATCH = 896
OVERLAP = 384
SPLITS = ('train', 'val', 'test')


def read_rgb(path: str) -> np.ndarray:
    """Read an image file as an ``(H, W, 3)`` uint8 RGB array.

    Args:
        path (str): File path.

    Returns:
        np.ndarray: The pixels.
    """
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert('RGB'))
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f'{path}: unreadable image ({exc})') from exc


def find_label(img_path: str, label_dirs: list) -> str:
    """The colour label of ``img_path``: next to it or in one of
    ``label_dirs``; ``FileNotFoundError`` naming the image if none.
    """
    stem = osp.splitext(osp.basename(img_path))[0]
    candidates = [osp.join(d, stem + DEVKIT_COLOR_SUFFIX)
                  for d in [osp.dirname(img_path)] + list(label_dirs)]
    for cand in candidates:
        if osp.isfile(cand):
            return cand
    raise FileNotFoundError(f'{img_path}: no semantic label, looked for '
                            f'{candidates}')


def convert_image(img_path: str, label_path: str, out_dir: str, split: str,
                  patch: int = PATCH, overlap: int = OVERLAP) -> list:
    """Tile one image and its colour label; returns the written tile names.

    Args:
        img_path (str): The image.
        label_path (str): Its ``_instance_color_RGB.png`` colour label.
        out_dir (str): Output root.
        split (str): ``train`` or ``val``.
        patch (int): Tile size. Defaults to 896.
        overlap (int): Overlap of neighbouring tiles. Defaults to 384.

    Returns:
        list[str]: Tile stems ``Pxxxx_<y0>_<y1>_<x0>_<x1>``.
    """
    img = read_rgb(img_path)
    colour = read_rgb(label_path)
    if img.shape != colour.shape:
        raise ValueError(f'{label_path}: label size {colour.shape[:2]} '
                         f'differs from image size {img.shape[:2]} of '
                         f'{img_path}')
    palette = {c: i for i, c in enumerate(ISAID_PALETTE)}
    label = rgb_to_index(colour, palette, filename=label_path)
    img = pad_to(img, patch, 0)
    label = pad_to(label, patch, 255)
    stem = osp.splitext(osp.basename(img_path))[0]
    names = []
    for y0, y1, x0, x1 in tile_boxes(img.shape[0], img.shape[1], patch,
                                     patch - overlap):
        name = f'{stem}_{y0}_{y1}_{x0}_{x1}'
        Image.fromarray(img[y0:y1, x0:x1]).save(
            osp.join(out_dir, 'img_dir', split, name + '.png'))
        Image.fromarray(label[y0:y1, x0:x1]).save(
            osp.join(out_dir, 'ann_dir', split, name + DEVKIT_COLOR_SUFFIX))
        names.append(name)
    return names


def extract_zips(split_dir: str, tmp_dir: str) -> tuple:
    """Extract the official ``images/*.zip`` and ``Semantic_masks/*.zip``
    of a split into ``tmp_dir``; returns (image dirs, label dirs) to search.
    """
    img_dirs = [osp.join(split_dir, 'images')]
    label_dirs = [osp.join(split_dir, 'Semantic_masks', 'images')]
    for sub, dirs in (('images', img_dirs), ('Semantic_masks', label_dirs)):
        dst = osp.join(tmp_dir, osp.basename(split_dir), sub)
        for zpath in sorted(glob.glob(osp.join(split_dir, sub, '*.zip'))):
            with zipfile.ZipFile(zpath) as zf:
                zf.extractall(dst)
            if osp.join(dst, 'images') not in dirs:
                dirs.append(osp.join(dst, 'images'))
    return img_dirs, label_dirs


def list_images(img_dirs: list) -> list:
    """The ``*.png`` images in ``img_dirs``, the devkit masks excluded."""
    return [
        p for d in img_dirs for p in sorted(glob.glob(osp.join(d, '*.png')))
        if not p.endswith((DEVKIT_COLOR_SUFFIX, DEVKIT_ID_SUFFIX))
    ]


def convert(root: str, out_dir: str, patch: int = PATCH,
            overlap: int = OVERLAP, tmp_dir: str = None) -> dict:
    """Convert every split found under ``root``.

    Args:
        root (str): iSAID root with ``train``/``val``/``test`` folders.
        out_dir (str): Output root.
        patch (int): Tile size. Defaults to 896.
        overlap (int): Overlap. Defaults to 384 (stride 512).
        tmp_dir (str, optional): Where to extract zips.

    Returns:
        dict: ``{split: number of tiles (test: images)}``.
    """
    if not 0 <= overlap < patch:
        raise ValueError(f'overlap must be in [0, {patch}), got {overlap}')
    splits = [s for s in SPLITS if osp.isdir(osp.join(root, s))]
    if not splits:
        raise FileNotFoundError(f'{root}: no train/val/test folder')
    counts = {}
    with tempfile.TemporaryDirectory(dir=tmp_dir) as tmp:
        for split in splits:
            split_dir = osp.join(root, split)
            os.makedirs(osp.join(out_dir, 'img_dir', split), exist_ok=True)
            img_dirs, label_dirs = extract_zips(split_dir, tmp)
            images = list_images(img_dirs)
            if split == 'test':
                for p in images:
                    shutil.copy(p, osp.join(out_dir, 'img_dir', split))
                counts[split] = len(images)
                continue
            os.makedirs(osp.join(out_dir, 'ann_dir', split), exist_ok=True)
            counts[split] = sum(
                len(convert_image(p, find_label(p, label_dirs), out_dir,
                                  split, patch, overlap)) for p in images)
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Tile iSAID (official layout) into 896x896 crops')
    parser.add_argument('dataset_path', help='iSAID root (train/val/test)')
    parser.add_argument('-o', '--out-dir', default=osp.join('data', 'iSAID'))
    parser.add_argument('--patch-size', type=int, default=PATCH)
    parser.add_argument('--overlap', type=int, default=OVERLAP,
                        help='overlap of neighbouring tiles (stride = '
                        'patch-size - overlap = 512)')
    parser.add_argument('--tmp-dir', default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    counts = convert(args.dataset_path, args.out_dir, args.patch_size,
                     args.overlap, args.tmp_dir)
    for split, n in counts.items():
        print(f'{split}: {n} {"images" if split == "test" else "tiles"}')
    print(f'written to {args.out_dir}')


if __name__ == '__main__':
    main()
