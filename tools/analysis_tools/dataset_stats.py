"""Per-class statistics of one split of a config's dataset, loaded through
the config's own pipeline, to check a data preparation before training.

SkySense: https://arxiv.org/abs/2312.10115. Usage::

    python tools/analysis_tools/dataset_stats.py CONFIG \
        --split {train,val,test} [--max-samples N] [--cfg-options k=v ...]

The dataset of ``<split>_dataloader`` is built in the config's
``default_scope`` (MMSegmentation, MMDetection, MMRotate, MMPretrain) and
every sample is passed through its pipeline. The histogram depends on what
the samples carry:

* ``gt_sem_seg`` (segmentation, change detection): pixels per class name,
  plus the ignore-index pixels; a label value that is neither a class nor
  the ignore index is an error naming the label file;
* ``gt_instances`` (detection, rotated detection): instances per class name
  (instances flagged ``ignore`` are listed separately);
* ``gt_label`` / ``gt_score`` (single- / multi-label classification):
  samples per class name.

Train pipelines are random (crops, flips): the histogram then describes
what the model sees in one pass. A sample the pipeline drops (returns None)
is counted as ``dropped``, not replaced. The last line is ``samples=<n>``,
the number of samples counted.
"""
import argparse
import os.path as osp
import sys
from collections import Counter

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmengine.config import Config, DictAction  # noqa: E402

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Per-class statistics of a dataset split')
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', choices=SPLITS, default='train')
    parser.add_argument('--max-samples', type=int, default=None,
                        help='stop after N samples (default: all)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def build_split_dataset(cfg, split, config_path='<config>'):
    """Build the dataset of ``<split>_dataloader`` with its pipeline.

    Args:
        cfg (Config): the loaded config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        config_path (str): used in error messages.

    Returns:
        BaseDataset: the built (fully initialised) dataset.

    Raises:
        ValueError: the config has no ``<split>_dataloader.dataset``.
    """
    from mmengine.registry import DATASETS, init_default_scope
    from mmengine.utils import import_modules_from_strings
    key = f'{split}_dataloader'
    loader = cfg.get(key)
    if not loader or not loader.get('dataset'):
        raise ValueError(f'{config_path}: {key}.dataset is missing or None; '
                         f'the config has no {split} split')
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    import skysense_mm  # noqa: F401  (registries, compat workarounds)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    dataset = DATASETS.build(loader['dataset'])
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    return dataset


def class_names(dataset):
    """Class names of a dataset (unwrapping Repeat/Concat wrappers)."""
    meta = getattr(dataset, 'metainfo', None) or {}
    names = meta.get('classes')
    if names is None and hasattr(dataset, 'dataset'):
        return class_names(dataset.dataset)
    if names is None and hasattr(dataset, 'datasets'):
        return class_names(dataset.datasets[0])
    return tuple(names) if names is not None else None


def ignore_index(dataset, default=255):
    """Ignore index of a segmentation dataset (unwrapping wrappers)."""
    if hasattr(dataset, 'ignore_index'):
        return dataset.ignore_index
    if hasattr(dataset, 'dataset'):
        return ignore_index(dataset.dataset, default)
    if hasattr(dataset, 'datasets'):
        return ignore_index(dataset.datasets[0], default)
    return default


def _sample(dataset, idx):
    """One sample through the pipeline without mmengine's random retry."""
    if hasattr(dataset, 'prepare_data'):
        return dataset.prepare_data(idx)
    return dataset[idx]


def count_sample(sample, stats, ignore):
    """Add one packed sample to ``stats``; returns the task name.

    Args:
        sample (dict): pipeline output with ``data_samples``.
        stats (dict[str, Counter]): ``'main'`` and ``'ignored'`` counters of
            class index (or ``'ignore'``), updated in place.
        ignore (int): ignore index of segmentation labels.

    Returns:
        str: ``'segmentation'``, ``'detection'`` or ``'classification'``.

    Raises:
        ValueError: a segmentation label value outside the class set.
    """
    import torch
    ds = sample['data_samples']
    if 'gt_sem_seg' in ds:
        seg = ds.gt_sem_seg.data.reshape(-1).long()
        values, counts = torch.unique(seg, return_counts=True)
        num = stats['num_classes']
        for v, c in zip(values.tolist(), counts.tolist()):
            if v == ignore:
                stats['ignored']['ignore'] += c
            elif num is not None and not 0 <= v < num:
                path = ds.metainfo.get('seg_map_path', '<unknown file>')
                raise ValueError(
                    f'{path}: label value {v} is neither one of the {num} '
                    f'classes nor the ignore index {ignore} ({c} pixels)')
            else:
                stats['main'][v] += c
        return 'segmentation'
    if 'gt_instances' in ds:
        stats['main'].update(ds.gt_instances.labels.reshape(-1).tolist())
        if 'ignored_instances' in ds and 'labels' in ds.ignored_instances:
            stats['ignored'].update(
                ds.ignored_instances.labels.reshape(-1).tolist())
        return 'detection'
    if 'gt_score' in ds and ds.gt_score.numel() > 1:
        stats['main'].update(
            torch.nonzero(ds.gt_score.reshape(-1) > 0).reshape(-1).tolist())
        return 'classification'
    if 'gt_label' in ds:
        stats['main'].update(ds.gt_label.reshape(-1).tolist())
        return 'classification'
    raise ValueError('sample carries none of gt_sem_seg, gt_instances, '
                     f'gt_label, gt_score: {sorted(ds.keys())}')


UNITS = dict(segmentation='pixels', detection='instances',
             classification='samples')


def collect(dataset, max_samples=None):
    """Iterate a dataset and count per class.

    Args:
        dataset (BaseDataset): a built dataset.
        max_samples (int, optional): stop after this many samples.

    Returns:
        dict: ``task``, ``samples``, ``dropped``, ``main`` / ``ignored``
        Counters and ``classes``.
    """
    classes = class_names(dataset)
    stats = dict(main=Counter(), ignored=Counter(),
                 num_classes=len(classes) if classes is not None else None)
    ign = ignore_index(dataset)
    total = len(dataset)
    if max_samples is not None:
        total = min(total, max_samples)
    task, samples, dropped = None, 0, 0
    for idx in range(total):
        sample = _sample(dataset, idx)
        if sample is None:
            dropped += 1
            continue
        task = count_sample(sample, stats, ign)
        samples += 1
    return dict(task=task, samples=samples, dropped=dropped,
                main=stats['main'], ignored=stats['ignored'],
                classes=classes)


def format_report(result, split, dataset_name):
    """The printed report; the last line is ``samples=<n>``."""
    classes = result['classes'] or ()
    unit = UNITS.get(result['task'], 'count')
    main = result['main']
    total = sum(main.values())
    lines = [f'split={split} dataset={dataset_name} '
             f'task={result["task"]} dropped={result["dropped"]}',
             f'{unit} per class:']
    width = max([len(str(c)) for c in classes] + [12])
    ids = sorted(set(range(len(classes))) | set(main))
    for i in ids:
        name = classes[i] if i < len(classes) else f'<label {i}>'
        n = main.get(i, 0)
        pct = 100.0 * n / total if total else 0.0
        lines.append(f'  {i:>3} {name:<{width}} {n:>12d} {pct:6.2f}%')
    if result['task'] == 'segmentation':
        lines.append(f'  ignore {result["ignored"].get("ignore", 0)}')
    elif result['ignored']:
        lines.append('  ignored instances: ' + ', '.join(
            f'{classes[i] if i < len(classes) else i}={n}'
            for i, n in sorted(result['ignored'].items())))
    lines.append(f'total {unit}={total}')
    lines.append(f'samples={result["samples"]}')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset = build_split_dataset(cfg, args.split, args.config)
    result = collect(dataset, args.max_samples)
    print(format_report(result, args.split, type(dataset).__name__))


if __name__ == '__main__':
    main()
