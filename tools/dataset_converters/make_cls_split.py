"""Seeded stratified train/test split files for AID and NWPU-RESISC45.

SkySense (https://arxiv.org/abs/2312.10115, Tab. 3) evaluates AID at train
ratios (TR) 20% / 50% and NWPU-RESISC45 at 10% / 20%; neither data set has
an official split, so this tool draws one reproducibly from the official
folder-per-class tree::

    python tools/dataset_converters/make_cls_split.py data/AID \\
        --dataset aid --train-ratio 0.2 --seed 0 \\
        --out data/AID/splits/tr20_seed0 --label-ratio 0.01 0.05 0.1 0.2 0.5

writes to ``--out``:

* ``classes.txt``: the official class names, one per line, line ``i`` =
  label ``i`` (alphabetical folder names, see skysense_mm/datasets/
  scene_cls.py);
* ``train.txt`` / ``test.txt``: mmpretrain annotation files, one
  ``<Class>/<file>.jpg <label>`` line per image (paths relative to ROOT),
  sorted by label then natural file order;
* ``train_<p>pct.txt`` per ``--label-ratio`` (p = 100 x ratio, e.g.
  ``train_1pct.txt``): label-ratio subsets of ``train.txt`` (Fig. 4a);
* ``split_info.json``: dataset, seed, ratios, rule and per-class counts.

Rules (per class with ``n`` images, all arithmetic exact on the decimal
ratio): ``n_train = round_half_up(TR x n)`` clipped to ``[1, n - 1]`` (at
least one train image and, when ``n >= 2``, at least one test image; a class
with a single image goes to train only), ``n_test = n - n_train``. The
images of a class are shuffled by ``random.Random('<seed>:<class>')``
(deterministic across runs and platforms, and independent of the other
classes) and the first ``n_train`` are train. A label-ratio ``q`` keeps the
first ``max(1, round_half_up(q x n_train))`` images of a second
per-class permutation of the train images (``'<seed>:<class>:labels'``), so
a smaller ratio's subset is contained in every larger one (nested) and
``q = 1`` is ``train.txt``. Same ROOT, ratios and seed -> identical files.

Bad input raises ValueError naming the file: a folder that is not an
official class, a non-image or unreadable image (every image is opened with
Pillow and verified), an empty class folder, or missing class folders
(unless ``--allow-missing-classes``, for a partial tree such as a sample).
"""
import argparse
import json
import os
import os.path as osp
import random
import sys
from decimal import ROUND_HALF_UP, Decimal
from typing import Dict, List, Optional, Sequence

from PIL import Image

from skysense_mm.datasets.scene_cls import (SCENE_CLS_CLASSES, natural_key,
                                            scan_scene_tree)

#: Label ratios of Fig. 4a (fractions of the training split).
FIG4A_LABEL_RATIOS = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)


def round_half_up(ratio, n: int) -> int:
    """``ratio x n`` rounded half up, exact on the decimal ratio.

    Args:
        ratio (float | str): The ratio, e.g. 0.2.
        n (int): The count.

    Returns:
        int: e.g. ``round_half_up(0.1, 15) == 2``, ``(0.5, 3) == 2``.
    """
    return int((Decimal(str(ratio)) * n).quantize(Decimal(1), ROUND_HALF_UP))


def ratio_name(ratio: float) -> str:
    """File-name percentage of a ratio: 0.01 -> ``'1'``, 0.005 -> ``'0.5'``.

    Args:
        ratio (float): The ratio.

    Returns:
        str: The percentage without trailing zeros.
    """
    pct = Decimal(str(ratio)) * 100
    return format(pct.normalize(), 'f')


def check_image(path: str) -> None:
    """Raise ValueError naming ``path`` when Pillow cannot read it.

    Args:
        path (str): The image file.
    """
    try:
        with Image.open(path) as img:
            img.verify()
    except Exception as e:  # PIL raises many types for broken files
        raise ValueError(f'{path}: unreadable image ({e})') from e


def split_class(files: Sequence[str], cls: str, train_ratio: float,
                seed: int) -> List[str]:
    """The train images of one class (see the module docstring).

    Args:
        files (Sequence[str]): The class's images (any order).
        cls (str): Class name (part of the random seed).
        train_ratio (float): TR in (0, 1).
        seed (int): Seed.

    Returns:
        list[str]: The train images, in natural order.
    """
    n = len(files)
    n_train = min(max(round_half_up(train_ratio, n), 1), max(n - 1, 1))
    order = sorted(files, key=natural_key)
    random.Random(f'{seed}:{cls}').shuffle(order)
    return sorted(order[:n_train], key=natural_key)


def label_subset(train: Sequence[str], cls: str, label_ratio: float,
                 seed: int) -> List[str]:
    """The label-ratio subset of one class's train images (nested in
    ``label_ratio``).

    Args:
        train (Sequence[str]): The class's train images.
        cls (str): Class name (part of the random seed).
        label_ratio (float): Fraction of ``train`` in (0, 1].
        seed (int): Seed.

    Returns:
        list[str]: The kept images, in natural order.
    """
    m = min(max(round_half_up(label_ratio, len(train)), 1), len(train))
    order = sorted(train, key=natural_key)
    random.Random(f'{seed}:{cls}:labels').shuffle(order)
    return sorted(order[:m], key=natural_key)


def _write(path: str, rows: Sequence[str]) -> None:
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.writelines(r + '\n' for r in rows)


def make_split(root: str,
               dataset: str,
               train_ratio: float,
               seed: int,
               out: str,
               label_ratios: Sequence[float] = (),
               allow_missing_classes: bool = False,
               verify_images: bool = True) -> Dict:
    """Write the split files of ``root`` to ``out``.

    Args:
        root (str): Official folder-per-class tree.
        dataset (str): ``'aid'`` or ``'resisc45'``.
        train_ratio (float): TR in (0, 1).
        seed (int): Seed.
        out (str): Output folder (created).
        label_ratios (Sequence[float]): Label ratios in (0, 1] of the train
            split to write as ``train_<p>pct.txt``.
        allow_missing_classes (bool): Accept a tree without some classes.
        verify_images (bool): Open every image with Pillow. Defaults to True.

    Returns:
        dict: The content of ``split_info.json``.

    Raises:
        ValueError: For bad arguments or bad input (see the module
            docstring).
    """
    if dataset not in SCENE_CLS_CLASSES:
        raise ValueError(f'dataset must be one of {sorted(SCENE_CLS_CLASSES)}'
                         f', got {dataset!r}')
    if not 0 < train_ratio < 1:
        raise ValueError(f'train_ratio must be in (0, 1), got {train_ratio}')
    bad = [q for q in label_ratios if not 0 < q <= 1]
    if bad:
        raise ValueError(f'label ratios must be in (0, 1], got {bad}')
    classes = SCENE_CLS_CLASSES[dataset]
    tree = scan_scene_tree(root, classes, allow_missing_classes)
    if verify_images:
        for rels in tree.values():
            for rel in rels:
                check_image(osp.join(root, rel))
    train, test = [], []
    subsets = {q: [] for q in label_ratios}
    counts = {}
    for cls, rels in tree.items():
        label = classes.index(cls)
        cls_train = split_class(rels, cls, train_ratio, seed)
        chosen = set(cls_train)
        cls_test = [r for r in rels if r not in chosen]
        train += [f'{r} {label}' for r in cls_train]
        test += [f'{r} {label}' for r in cls_test]
        counts[cls] = dict(total=len(rels), train=len(cls_train),
                           test=len(cls_test))
        for q in label_ratios:
            sub = label_subset(cls_train, cls, q, seed)
            subsets[q] += [f'{r} {label}' for r in sub]
            counts[cls][f'train_{ratio_name(q)}pct'] = len(sub)
    os.makedirs(out, exist_ok=True)
    _write(osp.join(out, 'classes.txt'), classes)
    _write(osp.join(out, 'train.txt'), train)
    _write(osp.join(out, 'test.txt'), test)
    for q, rows in subsets.items():
        _write(osp.join(out, f'train_{ratio_name(q)}pct.txt'), rows)
    info = dict(
        dataset=dataset,
        train_ratio=train_ratio,
        seed=seed,
        label_ratios=list(label_ratios),
        rule='n_train = clip(round_half_up(TR * n), 1, n - 1); label subset '
        '= first max(1, round_half_up(q * n_train)) of a seeded permutation',
        missing_classes=[c for c in classes if c not in tree],
        num_train=len(train),
        num_test=len(test),
        classes=counts)
    with open(osp.join(out, 'split_info.json'), 'w', encoding='utf-8') as f:
        json.dump(info, f, indent=1)
        f.write('\n')
    return info


def parse_args(argv: Optional[Sequence[str]] = None):
    parser = argparse.ArgumentParser(
        description='Seeded stratified AID / NWPU-RESISC45 split files '
        '(mmpretrain annotation format)')
    parser.add_argument('root', help='official folder-per-class tree')
    parser.add_argument('--dataset', required=True,
                        choices=sorted(SCENE_CLS_CLASSES))
    parser.add_argument('--train-ratio', type=float, required=True,
                        help='fraction of each class used for training, '
                        'e.g. 0.2 (AID) or 0.1 (RESISC45)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--label-ratio', type=float, nargs='+', default=[],
                        help='label-ratio subsets of the train split, e.g. '
                        + ' '.join(map(str, FIG4A_LABEL_RATIOS)))
    parser.add_argument('--allow-missing-classes', action='store_true',
                        help='accept a tree without some class folders')
    parser.add_argument('--no-verify', action='store_true',
                        help='do not open every image with Pillow')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        info = make_split(args.root, args.dataset, args.train_ratio,
                          args.seed, args.out, args.label_ratio,
                          args.allow_missing_classes, not args.no_verify)
    except (ValueError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'{args.dataset}: {info["num_train"]} train / {info["num_test"]} '
          f'test images over {len(info["classes"])} classes '
          f'(TR {args.train_ratio}, seed {args.seed}) -> {args.out}')
    if info['missing_classes']:
        print(f'classes without a folder: {info["missing_classes"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
