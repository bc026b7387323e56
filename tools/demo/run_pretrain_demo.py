"""`make demo`: SkySense pre-training vs random init on the demo world.

SkySense (https://arxiv.org/abs/2312.10115), §3.3 pre-training, end to end on
CPU::

    python tools/demo/run_pretrain_demo.py [--work-dir work_dirs/pretrain_demo]
        [--quick] [--data-root DIR] [--seed 0] [--num-samples N]
        [--pretrain-iters N] [--finetune-iters N] [--num-labeled N]
        [--teacher-momentum M]

1. ``tools/misc/make_demo_data.py`` writes the procedural multi-modal world
   (HR + S2 + S1 + lat/lon, and land-cover labels) to ``--data-root``
   (default ``<work-dir>/data``);
2. ``tools/train.py configs/pretrain/skysense_tiny_pretrain_demo.py``
   pre-trains the tiny SkySense on the unlabeled ``splits/train.txt`` samples
   (all modalities; no labels are read);
3. ``tools/train.py configs/demo/skysense_tiny_upernet_demo-world.py``
   trains a UPerHead on the frozen HR encoder with the labels of the first
   ``--num-labeled`` training samples, twice with the same seed and
   schedule: on the pre-training TEACHER's encoder (``init_cfg=Pretrained``,
   prefix ``teacher.backbone.``) and on a random-init encoder;
4. ``tools/test.py`` evaluates both on ``splits/val.txt``.

The pre-training uses ``--seed``; both fine-tunes use ``--seed + 1`` (so the
random-init run does not start from the pre-training's own initial
weights). The work dir is recreated on every run. The last line printed is
``pretrained=<mIoU> random_init=<mIoU>`` (val mIoU in %); the numbers and
timings are also written to ``<work-dir>/demo_result.json``. Default sizes
(48 samples, 100 pre-training and 100 head-training iterations, 8 labelled
samples) took 66 s of wall time on 2 otherwise idle CPU cores and 7.5 min
on 2 cores shared with other training jobs; ``--quick`` runs 2 iterations
of each step (a smoke test, the scores mean nothing).
"""
import argparse
import json
import os.path as osp
import shutil
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))

PRETRAIN_CONFIG = osp.join(ROOT, 'configs', 'pretrain',
                           'skysense_tiny_pretrain_demo.py')
FINETUNE_CONFIG = osp.join(ROOT, 'configs', 'demo',
                           'skysense_tiny_upernet_demo-world.py')
TEACHER_PREFIX = 'teacher.backbone.'

# (num_samples, pretrain_iters, finetune_iters, num_labeled)
DEFAULTS = dict(num_samples=48, pretrain_iters=100, finetune_iters=100,
                num_labeled=8)
QUICK = dict(num_samples=8, pretrain_iters=2, finetune_iters=2,
             num_labeled=4)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/pretrain_demo')
    parser.add_argument(
        '--data-root', help='where to write the world (<work-dir>/data)')
    parser.add_argument(
        '--quick', action='store_true',
        help='a few iterations of every step (smoke test)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-samples', type=int,
                        help='world size; 25%% of it is the val split')
    parser.add_argument('--pretrain-iters', type=int)
    parser.add_argument('--finetune-iters', type=int)
    parser.add_argument(
        '--num-labeled', type=int,
        help='labelled training samples used by the fine-tunes')
    parser.add_argument(
        '--teacher-momentum', type=float, default=0.98,
        help='base momentum of the teacher EMA (cosine to 1.0); lower than '
        "the paper's 0.996 because the demo runs ~100 iterations")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else DEFAULTS
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in sizes:
        if getattr(args, key) < 2:
            parser.error(f'--{key.replace("_", "-")} must be >= 2')
    if args.data_root is None:
        args.data_root = osp.join(args.work_dir, 'data')
    return args


def warmup(iters: int, longest: int) -> int:
    """Warm-up length: ``longest``, at most half of the schedule."""
    return max(1, min(longest, iters // 2))


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint named in ``<work_dir>/last_checkpoint``."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        raise RuntimeError(f'training wrote no checkpoint: no {path}')
    with open(path) as f:
        return f.read().strip()


def teacher_hook_index(config: str) -> int:
    """Position of the ``TeacherEMAHook`` in the config's custom_hooks."""
    from mmengine.config import Config
    hooks = Config.fromfile(config).get('custom_hooks', None) or []
    for i, hook in enumerate(hooks):
        if hook.get('type') in ('TeacherEMAHook',
                                'skysense_mm.TeacherEMAHook'):
            return i
    raise RuntimeError(f'{config}: no TeacherEMAHook in custom_hooks')


def pretrain(args) -> str:
    """Pre-train on the unlabeled train split; return the checkpoint."""
    import train as train_tool
    iters = args.pretrain_iters
    hook = teacher_hook_index(PRETRAIN_CONFIG)
    work_dir = osp.join(args.work_dir, 'pretrain')
    opts = [
        f'train_dataloader.dataset.data_root={args.data_root}',
        'train_dataloader.dataset.ann_file=splits/train.txt',
        f'train_cfg.max_iters={iters}',
        # the config's schedule is written for its own max_iters
        f'param_scheduler.0.end={warmup(iters, 20)}',
        f'param_scheduler.1.begin={warmup(iters, 20)}',
        f'param_scheduler.1.end={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'default_hooks.logger.interval={min(10, iters)}',
        f'randomness.seed={args.seed}',
        # a schedule of minutes: a 0.996 teacher would stay ~80% random
        f'custom_hooks.{hook}.base_momentum={args.teacher_momentum}',
    ]
    train_tool.main([PRETRAIN_CONFIG, '--work-dir', work_dir,
                     '--cfg-options', *opts])
    return last_checkpoint(work_dir)


def finetune_and_test(args, name: str, pretrained: str = None) -> float:
    """Fine-tune the downstream config, test it, return the val mIoU."""
    import test as test_tool
    import train as train_tool
    iters = args.finetune_iters
    work_dir = osp.join(args.work_dir, f'finetune_{name}')
    opts = [
        f'train_dataloader.dataset.data_root={args.data_root}',
        f'train_dataloader.dataset.indices={args.num_labeled}',
        f'train_cfg.max_iters={iters}',
        f'param_scheduler.0.end={warmup(iters, 10)}',
        f'param_scheduler.1.begin={warmup(iters, 10)}',
        f'param_scheduler.1.end={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'default_hooks.logger.interval={min(10, iters)}',
        f'randomness.seed={args.seed + 1}',
    ]
    if pretrained is not None:
        opts += [
            'model.backbone.init_cfg.type=Pretrained',
            f'model.backbone.init_cfg.checkpoint={pretrained}',
            f'model.backbone.init_cfg.prefix={TEACHER_PREFIX}',
        ]
    train_tool.main([FINETUNE_CONFIG, '--work-dir', work_dir,
                     '--no-validate', '--cfg-options', *opts])
    metrics = test_tool.main([
        FINETUNE_CONFIG, last_checkpoint(work_dir), '--work-dir', work_dir,
        '--cfg-options',
        f'val_dataloader.dataset.data_root={args.data_root}',
        f'test_dataloader.dataset.data_root={args.data_root}'
    ])
    return float(metrics['mIoU'])


def main(argv=None):
    args = parse_args(argv)
    import make_demo_data

    start = time.time()
    if osp.isdir(args.work_dir):
        shutil.rmtree(args.work_dir)
    make_demo_data.generate(args.data_root, num_samples=args.num_samples,
                            hr_size=128, seed=args.seed)
    ckpt = pretrain(args)
    t_pre = time.time()
    scores = dict(
        pretrained=finetune_and_test(args, 'pretrained', pretrained=ckpt),
        random_init=finetune_and_test(args, 'random_init'))
    result = dict(
        scores=scores, pretrain_checkpoint=ckpt,
        pretrain_seconds=round(t_pre - start, 1),
        total_seconds=round(time.time() - start, 1),
        **{k: getattr(args, k)
           for k in (*DEFAULTS, 'seed', 'quick', 'teacher_momentum')})
    with open(osp.join(args.work_dir, 'demo_result.json'), 'w') as f:
        json.dump(result, f, indent=1)
    print(f'pre-training: {ckpt} ({args.pretrain_iters} iterations, '
          f'{result["pretrain_seconds"]} s incl. data generation)')
    print(f'fine-tuning: {args.finetune_iters} iterations on '
          f'{args.num_labeled} labelled samples; val mIoU (%) from the '
          'pre-training teacher and from random init; total '
          f'{result["total_seconds"]} s')
    print(f'pretrained={scores["pretrained"]:.2f} '
          f'random_init={scores["random_init"]:.2f}')
    return scores


if __name__ == '__main__':
    main()
