"""`make demo`: generate the demo data, train, then test from the checkpoint.

    python tools/demo/run_demo.py [--work-dir work_dirs/demo]
        [--data-root data/demo] [--config CONFIG] [--max-iters N]

Idempotent: the data is regenerated identically and training restarts in a
fresh work dir. The last line printed is ``demo: mIoU=<x> mFscore=<y>``.
"""
import argparse
import os.path as osp
import shutil
import sys

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, HERE)

DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'demo',
                          'skysense_swinv2-tiny_upernet_demo-64x64.py')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/demo')
    parser.add_argument('--max-iters', type=int, default=None)
    args = parser.parse_args(argv)

    import generate_demo_data
    import test as test_tool
    import train as train_tool

    generate_demo_data.generate(args.data_root)
    if osp.isdir(args.work_dir):
        shutil.rmtree(args.work_dir)
    opts = [f'train_dataloader.dataset.data_root={args.data_root}',
            f'val_dataloader.dataset.data_root={args.data_root}',
            f'test_dataloader.dataset.data_root={args.data_root}']
    if args.max_iters:
        opts += [f'train_cfg.max_iters={args.max_iters}',
                 f'train_cfg.val_interval={args.max_iters}',
                 f'default_hooks.checkpoint.interval={args.max_iters}']
    train_tool.main([args.config, '--work-dir', args.work_dir,
                     '--cfg-options', *opts])
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    metrics = test_tool.main([
        args.config, ckpt, '--work-dir', args.work_dir,
        '--out', osp.join(args.work_dir, 'predictions.pkl'),
        '--show-dir', osp.join(args.work_dir, 'vis'),
        '--cfg-options', *opts])
    print(f"demo: mIoU={metrics['mIoU']:.2f} mFscore={metrics['mFscore']:.2f}")
    return metrics


if __name__ == '__main__':
    main()
