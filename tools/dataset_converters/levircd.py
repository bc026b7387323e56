"""Crop LEVIR-CD 1024x1024 tiles into 256x256 patches, as the protocol does.

LEVIR-CD (Chen & Shi, 2020) ships ``<split>/{A,B,label}/<split>_<id>.png``
tiles of 1024x1024 (labels 0/255). The common protocol (STANet, BIT-CD,
RingMo, which SkySense follows: https://arxiv.org/abs/2312.10115 §4) trains
and tests on **non-overlapping 256x256 crops** (16 per tile; stride = crop
size, starting at 0). Crops are named as BIT-CD's released crops,
``<name>_<row:04d>_<col:04d>.png`` with row/col the pixel offsets of the
crop's top-left corner, e.g. ``test_2_0000_0512.png``; the output is the
same ``<split>/{A,B,label}`` layout, read by ``skysense_mm.LEVIRCDDataset``.
Pixel values are copied unchanged (lossless PNG); tiles whose size is not a
multiple of ``--crop-size`` are rejected (no padding, no partial crops)::

    python tools/dataset_converters/levircd.py SRC OUT \
        [--splits train val test] [--crop-size 256]

SRC holds ``<split>/{A,B,label}``; a SRC that holds ``A``, ``B``, ``label``
directly is converted as one split into OUT.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from PIL import Image

SUBDIRS = ('A', 'B', 'label')


def crop_offsets(size: int, crop: int) -> List[int]:
    """Top-left offsets of the non-overlapping crops along one axis.

    Args:
        size (int): Image size along the axis.
        crop (int): Crop size.

    Returns:
        list[int]: ``0, crop, 2 crop, ...``.
    """
    if size % crop:
        raise ValueError(f'size {size} is not a multiple of the crop {crop}')
    return list(range(0, size, crop))


def convert_split(src: str, out: str, crop: int = 256) -> int:
    """Crop every ``A``/``B``/``label`` triplet of one split folder.

    Args:
        src (str): Folder with ``A``, ``B``, ``label``.
        out (str): Output folder (``A``, ``B``, ``label`` are created).
        crop (int): Crop size. Defaults to 256.

    Returns:
        int: Number of crops written per sub-folder.
    """
    for sub in SUBDIRS:
        if not osp.isdir(osp.join(src, sub)):
            raise FileNotFoundError(f'{osp.join(src, sub)}: folder not found')
        os.makedirs(osp.join(out, sub), exist_ok=True)
    count = 0
    for fname in sorted(os.listdir(osp.join(src, 'A'))):
        if not fname.endswith('.png'):
            continue
        arrays = {}
        for sub in SUBDIRS:
            path = osp.join(src, sub, fname)
            if not osp.isfile(path):
                raise FileNotFoundError(f'{path}: missing {sub} for {fname}')
            arrays[sub] = np.asarray(Image.open(path))
        shape = arrays['A'].shape[:2]
        for sub in SUBDIRS:
            if arrays[sub].shape[:2] != shape:
                raise ValueError(
                    f'{osp.join(src, sub, fname)}: size '
                    f'{arrays[sub].shape[:2]} differs from A {shape}')
        bad = sorted(set(np.unique(arrays['label']).tolist()) - {0, 255})
        if bad:
            raise ValueError(f'{osp.join(src, "label", fname)}: label values '
                             f'{bad[:10]} outside {{0, 255}}')
        stem = osp.splitext(fname)[0]
        for row in crop_offsets(shape[0], crop):
            for col in crop_offsets(shape[1], crop):
                name = f'{stem}_{row:04d}_{col:04d}.png'
                for sub in SUBDIRS:
                    Image.fromarray(
                        arrays[sub][row:row + crop, col:col + crop]).save(
                            osp.join(out, sub, name))
                count += 1
    return count


def parse_args(argv: Optional[Sequence[str]] = None):
    parser = argparse.ArgumentParser(
        description='Crop LEVIR-CD tiles into non-overlapping patches')
    parser.add_argument('src', help='LEVIR-CD root (<split>/{A,B,label})')
    parser.add_argument('out', help='output root')
    parser.add_argument('--splits', nargs='+',
                        default=['train', 'val', 'test'])
    parser.add_argument('--crop-size', type=int, default=256)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Convert SRC into OUT; returns the number of crops written."""
    args = parse_args(argv)
    if all(osp.isdir(osp.join(args.src, s)) for s in SUBDIRS):
        n = convert_split(args.src, args.out, args.crop_size)
        print(f'{args.src}: {n} crops -> {args.out}')
        return n
    total = 0
    for split in args.splits:
        src = osp.join(args.src, split)
        if not osp.isdir(src):
            raise SystemExit(f'{src}: split folder not found')
        n = convert_split(src, osp.join(args.out, split), args.crop_size)
        print(f'{split}: {n} crops')
        total += n
    return total


if __name__ == '__main__':
    main()
