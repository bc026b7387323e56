"""Validate a folder of SkySense pre-training samples.

Checks every sample of ``ROOT`` (or of a split file) in the format of
``docs/pretrain_data.md`` (SkySense, https://arxiv.org/abs/2312.10115) by
reading it completely, and lists every bad sample with every reason (file
and field named) without stopping at the first. Prints a summary per field;
the last line is ``checked=<n> bad=<m>``; the exit code is 1 if any sample
is bad::

    python tools/dataset_converters/check_pretrain_data.py ROOT \
        [--ann-file splits/train.txt] [--min-s2-dates 1] [--min-s1-dates 0]
"""
import argparse
import collections
import sys

from skysense_mm.datasets.pretrain_format import (DEFAULT_HR_SCALE,
                                                  index_sample,
                                                  list_sample_ids)
from skysense_mm.datasets.transforms.loading import check_pretrain_sample


def check_folder(root, ann_file=None, min_s2_dates=1, min_s1_dates=0,
                 hr_scale=DEFAULT_HR_SCALE):
    """Return ``(sample ids, {sample_id: [errors]})`` of the bad samples."""
    ids = list_sample_ids(root, ann_file)
    bad = {}
    for sample_id in ids:
        errors = check_pretrain_sample(
            index_sample(root, sample_id), min_s2_dates, min_s1_dates,
            hr_scale)
        if errors:
            bad[sample_id] = errors
    return ids, bad


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='data root (one folder per sample)')
    parser.add_argument('--ann-file', default=None,
                        help='split file (relative to ROOT or absolute); '
                        'default: every sample folder of ROOT')
    parser.add_argument('--min-s2-dates', type=int, default=1)
    parser.add_argument('--min-s1-dates', type=int, default=0)
    parser.add_argument('--hr-scale', type=int, default=DEFAULT_HR_SCALE)
    args = parser.parse_args(argv)
    try:
        ids, bad = check_folder(args.root, args.ann_file, args.min_s2_dates,
                                args.min_s1_dates, args.hr_scale)
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    by_field = collections.Counter()
    for sample_id, errors in bad.items():
        print(f'BAD {sample_id}: {len(errors)} problem(s)')
        for err in errors:
            print(f'  - {err}')
            by_field[err.field] += 1
    print('summary:')
    print(f'  samples checked: {len(ids)}, good: {len(ids) - len(bad)}, '
          f'bad: {len(bad)}')
    for field, count in sorted(by_field.items()):
        print(f'  problems in field {field!r}: {count}')
    print(f'checked={len(ids)} bad={len(bad)}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
