"""Generate the demo data set: small synthetic land-cover scenes.

Each scene is an RGB uint8 PNG with a class-index PNG label:
0 vegetation (textured green background), 1 building (grey/red rectangles
with shadows), 2 water (blue blobs), 3 road (grey lines). Deterministic for
a given ``--seed``; the layout is mmseg's ``BaseSegDataset`` one::

    OUT/img_dir/{train,val}/scene_00000.png
    OUT/ann_dir/{train,val}/scene_00000.png

    python tools/demo/generate_demo_data.py --out data/demo [--size 64]
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np

CLASSES = ('vegetation', 'building', 'water', 'road')
PALETTE = [[34, 139, 34], [220, 20, 60], [30, 144, 255], [128, 128, 128]]


def make_scene(rng: np.random.Generator, size: int):
    """Return one (image HxWx3 uint8 RGB, label HxW uint8) pair."""
    img = np.empty((size, size, 3), np.float32)
    img[...] = (60, 110, 50)
    img += rng.normal(0, 12, (size, size, 1))
    label = np.zeros((size, size), np.uint8)

    water = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(0, 3)):
        c = tuple(int(v) for v in rng.integers(0, size, 2))
        axes = tuple(int(v) for v in rng.integers(size // 10, size // 4, 2))
        cv2.ellipse(water, c, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    img[water > 0] = (35, 70, 140)
    label[water > 0] = 2

    road = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(1, 3)):
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.line(road, p1, p2, 1, int(rng.integers(3, 6)))
    img[road > 0] = (120, 120, 115)
    label[road > 0] = 3

    for _ in range(rng.integers(2, 6)):
        w, h = (int(v) for v in rng.integers(size // 8, size // 4, 2))
        x, y = (int(v) for v in rng.integers(0, size - max(w, h) - 2, 2))
        roof = (180, 60, 50) if rng.random() < 0.5 else (170, 170, 175)
        img[y + 2:y + h + 2, x + 2:x + w + 2] *= 0.5  # shadow
        img[y:y + h, x:x + w] = roof
        label[y:y + h, x:x + w] = 1

    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), label


def generate(out: str, num_train: int = 32, num_val: int = 8, size: int = 64,
             seed: int = 0) -> str:
    """Write the data set under ``out`` (idempotent) and return ``out``."""
    rng = np.random.default_rng(seed)
    for split, n in (('train', num_train), ('val', num_val)):
        img_dir = osp.join(out, 'img_dir', split)
        ann_dir = osp.join(out, 'ann_dir', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(n):
            img, label = make_scene(rng, size)
            name = f'scene_{i:05d}.png'
            cv2.imwrite(osp.join(img_dir, name), img[..., ::-1])
            cv2.imwrite(osp.join(ann_dir, name), label)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/demo')
    parser.add_argument('--num-train', type=int, default=32)
    parser.add_argument('--num-val', type=int, default=8)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    generate(args.out, args.num_train, args.num_val, args.size, args.seed)


if __name__ == '__main__':
    main()
