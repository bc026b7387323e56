"""Test (evaluate) a checkpoint with a config of skysense_mm, MMSegmentation,
MMDetection, MMRotate or MMPretrain (the config's ``default_scope`` decides).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out {FILE.pkl | SUBMISSION}] [--show-dir DIR]
        [--cfg-options k=v ...] [--launcher ...]

``--out FILE.pkl`` dumps the raw predictions. Any other ``--out`` path is a
leaderboard submission: it is handed to every metric of the test evaluator
that has a ``submission_path`` attribute (e.g. DynamicEarthNet's codalab
zip, FAIR1M's XML folder), which writes the benchmark's official format.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out',
        help='FILE.pkl: dump the raw predictions; any other path: write the '
        'leaderboard submission of the benchmark there (configs whose test '
        'metric supports it)')
    parser.add_argument(
        '--show-dir', help='save images with predictions drawn to this dir')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualization(cfg, show_dir):
    """Turn on the config's visualization hook and point it at show_dir.

    The libraries name the switch and the folder differently (decided by
    ``default_scope``): mmpretrain ``enable`` + ``out_dir``; mmseg ``draw`` +
    the visualizer's ``save_dir``; mmdet/mmrotate ``draw`` + ``test_out_dir``.
    """
    hook = cfg.default_hooks.get('visualization', None)
    if hook is None:
        raise SystemExit('--show-dir: the config has no '
                         'default_hooks.visualization hook to enable')
    scope = cfg.get('default_scope')
    if scope == 'mmpretrain':
        hook.enable = True
        hook.out_dir = show_dir
        return cfg
    hook.draw = True
    hook.interval = 1
    if scope == 'mmseg':
        cfg.visualizer.save_dir = show_dir
    else:
        hook.test_out_dir = show_dir
    return cfg


def main(argv=None):
    args = parse_args(argv)
    import skysense_mm  # noqa: F401  (upstream workarounds + registries)
    from mmengine.evaluator import DumpResults
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'no checkpoint file {args.checkpoint!r}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    # Testing needs no training state; without this, hooks that read
    # runner.iter (mmseg's SegVisualizationHook) build the train dataloader,
    # which fails wherever only the test split is on disk.
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler'):
        cfg[key] = None
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    if args.out and args.out.endswith(('.pkl', '.pickle')):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    elif args.out:
        set_submission_path(runner.test_evaluator.metrics, args.out,
                            args.config)
    return runner.test()


def set_submission_path(metrics, path, config):
    """Point every submission-writing metric at ``path``.

    Raises:
        SystemExit: when no metric of the config writes a submission.
    """
    writers = [m for m in metrics if hasattr(m, 'submission_path')]
    if not writers:
        names = ', '.join(type(m).__name__ for m in metrics) or 'none'
        raise SystemExit(
            f'--out {path}: no test metric of {config} writes a leaderboard '
            f'submission (metrics: {names}); use --out FILE.pkl to dump the '
            'raw predictions')
    for metric in writers:
        metric.submission_path = path


if __name__ == '__main__':
    main()
