"""Convert the official SkySense weights to one skysense_mm checkpoint.

SkySense: https://arxiv.org/abs/2312.10115. Usage::

    python tools/model_converters/skysense_official2mm.py \
        skysense_model_backbone_hr.pth skysense_model_backbone_s2.pth \
        skysense_model_backbone_s1.pth skysense_model_fusion.pth \
        skysense_model_head_s2.pth skysense_model_head_s1.pth \
        checkpoints/skysense_mm.pth \
        --check configs/_base_/models/skysense_paper.py

Any subset of the six files may be given. The renaming is
:func:`skysense_mm.models.utils.official_ckpt.convert_official_state_dict`;
the keys it drops are listed in docs/model_zoo.md. With ``--check`` the
config's model is built on the ``meta`` device, the written checkpoint is
loaded into it, and the last line printed is ``missing=<n> unexpected=<m>``
(rebuilt buffers and keys the release does not have are not counted).
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert official SkySense .pth files to skysense_mm',
        usage='%(prog)s SRC [SRC ...] DST [--check CONFIG]')
    parser.add_argument(
        'paths', nargs='+', metavar='PATH',
        help='official files (SRC), then the output checkpoint (DST)')
    parser.add_argument(
        '--check', metavar='CONFIG',
        help='build CONFIG on the meta device and load DST into it')
    args = parser.parse_args(argv)
    if len(args.paths) < 2:
        parser.error('give at least one SRC and a DST')
    args.src, args.dst = args.paths[:-1], args.paths[-1]
    for src in args.src:
        if not osp.isfile(src):
            parser.error(f'SRC {src!r} is not a file')
    if osp.abspath(args.dst) in {osp.abspath(s) for s in args.src}:
        parser.error('DST must not be one of the SRC files')
    return args


def main(argv=None):
    args = parse_args(argv)
    from skysense_mm.models.utils.official_ckpt import (
        convert_official_state_dict, load_converted_state_dict,
        read_official_files, save_checkpoint_atomic)
    merged, names = read_official_files(args.src, map_location='cpu')
    state_dict, dropped = convert_official_state_dict(merged)
    import skysense_mm
    checkpoint = dict(
        state_dict=state_dict,
        meta=dict(
            converted_from=names,
            converter='tools/model_converters/skysense_official2mm.py',
            dropped_keys=dropped,
            skysense_mm_version=skysense_mm.__version__,
            paper='https://arxiv.org/abs/2312.10115'))
    save_checkpoint_atomic(checkpoint, args.dst)
    n_params = sum(v.numel() for v in state_dict.values())
    print(f'wrote {args.dst}: {len(state_dict)} tensors, {n_params} values '
          f'from {len(names)} file(s)')
    for key in dropped:
        print(f'dropped: {key}')
    if args.check:
        from skysense_mm.models.utils.meta_build import build_model_on_meta
        model = build_model_on_meta(args.check)
        loaded = torch.load(
            args.dst, map_location='cpu', weights_only=True, mmap=True)
        diff = load_converted_state_dict(
            model, loaded['state_dict'], strict=False)
        if not diff.ok:
            print(diff.describe())
        for key in diff.not_released:
            print(f'not in the release (kept as initialised): {key}')
        print(f'missing={len(diff.missing) + len(diff.shape_mismatch)} '
              f'unexpected={len(diff.unexpected)}')


if __name__ == '__main__':
    main()
