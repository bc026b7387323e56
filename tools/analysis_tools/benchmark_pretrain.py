"""Benchmark SkySense pre-training steps: iterations/s, data wait, Sinkhorn.

SkySense: https://arxiv.org/abs/2312.10115 (§3.3). Builds the model, the
optimizer wrapper and the train dataloader of a pre-training config with
mmengine's ``Runner`` (no training loop, no hooks, no checkpoints) and runs
``--warmup`` + ``--iters`` training iterations, each

1. the next batch from the dataloader (**data wait**: the time ``next()``
   blocks; with ``num_workers=0`` this is the whole data pipeline),
2. ``model.train_step`` (data preprocessor, forward, backward, optimizer
   step) and the teacher EMA update of the config's ``TeacherEMAHook``
   (**step**).

Usage::

    python tools/analysis_tools/benchmark_pretrain.py CONFIG [--iters N]
        [--warmup N] [--work-dir DIR] [--cfg-options KEY=VALUE ...]

**Sinkhorn time** is the time spent inside ``sinkhorn_cluster`` (L_obj,
Eq. 6) and ``sinkhorn_knopp`` (geo-context prototype update, Eq. 11-13),
outermost calls only, measured by wrapping the functions where the model
modules look them up; the calls are also marked with
``torch.profiler.record_function('sinkhorn')`` for a profiler trace. On
CUDA the timers synchronise the device.

The table gives per-iteration means over the timed iterations; the last
line is ``it_per_s=<x> data_wait_share=<y> sinkhorn_share=<z>`` with the
shares as fractions of the iteration time (data wait + step). Target for a
real run: ``data_wait_share < 0.1`` (use ``num_workers`` > 0).
"""
import argparse
import contextlib
import functools
import os.path as osp
import sys
import tempfile
import time

import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Benchmark SkySense pre-training iterations')
    parser.add_argument('config', help='pre-training config file')
    parser.add_argument('--iters', type=int, default=10,
                        help='timed iterations (default 10)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed iterations first (default 1)')
    parser.add_argument('--work-dir', help='runner work dir (default: a '
                        'temporary folder)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    return args


class SinkhornTimer:
    """Accumulates the wall time of the outermost Sinkhorn calls.

    Args:
        sync (bool): Synchronise CUDA before reading the clock.
    """

    #: (module, attribute) where the model code looks the functions up
    TARGETS = (('skysense_mm.models.selfsup.losses', 'sinkhorn_cluster'),
               ('skysense_mm.models.necks.geo_prototypes', 'sinkhorn_knopp'),
               ('skysense_mm.models.backbones.skysense', 'sinkhorn_cluster'),
               ('skysense_mm.models.utils.sinkhorn', 'sinkhorn_knopp'),
               ('skysense_mm.models.utils.sinkhorn', 'sinkhorn_cluster'))

    def __init__(self, sync: bool = False) -> None:
        self.sync = sync
        self.seconds = 0.0
        self.calls = 0
        self._depth = 0
        self._saved = []

    def _wrap(self, fn):

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            if self.sync:
                torch.cuda.synchronize()
            start = time.perf_counter()
            try:
                with torch.profiler.record_function('sinkhorn'):
                    return fn(*args, **kwargs)
            finally:
                if self.sync:
                    torch.cuda.synchronize()
                self.seconds += time.perf_counter() - start
                self.calls += 1
                self._depth -= 1

        timed.__wrapped_by_benchmark__ = True
        return timed

    def __enter__(self):
        import importlib
        for mod_name, attr in self.TARGETS:
            mod = importlib.import_module(mod_name)
            fn = getattr(mod, attr, None)
            if fn is None or getattr(fn, '__wrapped_by_benchmark__', False):
                continue
            self._saved.append((mod, attr, fn))
            setattr(mod, attr, self._wrap(fn))
        return self

    def __exit__(self, *exc):
        for mod, attr, fn in reversed(self._saved):
            setattr(mod, attr, fn)
        self._saved = []
        return False


def _teacher_hook(cfg):
    """The config's TeacherEMAHook (built), or a default one."""
    from skysense_mm.engine.hooks import TeacherEMAHook
    for hook in cfg.get('custom_hooks', None) or []:
        if str(hook.get('type', '')).split('.')[-1] == 'TeacherEMAHook':
            kwargs = {k: v for k, v in hook.items() if k != 'type'}
            return TeacherEMAHook(**kwargs)
    return TeacherEMAHook()


def build(cfg, work_dir: str):
    """Model (wrapped as the runner does), optim wrapper, dataloader, hook."""
    from mmengine.runner import Runner
    cfg.work_dir = work_dir
    cfg.resume = False
    cfg.load_from = None
    runner = Runner.from_cfg(cfg)
    runner._init_model_weights()
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    dataloader = runner.build_dataloader(
        cfg.train_dataloader, seed=runner.seed)
    return runner, optim_wrapper, dataloader, _teacher_hook(cfg)


def benchmark(cfg, iters: int, warmup: int = 1,
              work_dir: str = None) -> dict:
    """Run ``warmup + iters`` training iterations and time them.

    Args:
        cfg (Config): Pre-training config.
        iters (int): Timed iterations.
        warmup (int): Untimed iterations first.
        work_dir (str, optional): Runner work dir; a temporary one if None.

    Returns:
        dict: ``iters``, ``it_per_s``, ``iter_ms``, ``step_ms``,
        ``data_ms``, ``sinkhorn_ms`` (per-iteration means),
        ``sinkhorn_calls`` (per iteration), ``data_wait_share``,
        ``sinkhorn_share``, ``loss`` (last total loss).
    """
    ctx = tempfile.TemporaryDirectory() if work_dir is None else \
        contextlib.nullcontext(work_dir)
    with ctx as wd:
        runner, optim_wrapper, dataloader, hook = build(cfg, wd)
        model = runner.model
        model.train()
        device = next(model.parameters()).device
        sync = device.type == 'cuda'
        total = warmup + iters
        max_iters = max(int(cfg.get('train_cfg', {}).get('max_iters', total)),
                        total)
        data_s = step_s = 0.0
        loss = float('nan')
        timer = SinkhornTimer(sync=sync)
        iterator = iter(dataloader)
        with timer:
            for i in range(total):
                if i == warmup:
                    timer.seconds, timer.calls = 0.0, 0
                    data_s = step_s = 0.0
                t0 = time.perf_counter()
                try:
                    batch = next(iterator)
                except StopIteration:
                    iterator = iter(dataloader)
                    batch = next(iterator)
                t1 = time.perf_counter()
                log_vars = model.train_step(batch, optim_wrapper)
                hook.update(model, i, max_iters)
                if sync:
                    torch.cuda.synchronize()
                t2 = time.perf_counter()
                data_s += t1 - t0
                step_s += t2 - t1
                loss = float(log_vars['loss'].detach())
    iter_s = data_s + step_s
    return dict(
        iters=iters,
        it_per_s=iters / iter_s,
        iter_ms=1e3 * iter_s / iters,
        step_ms=1e3 * step_s / iters,
        data_ms=1e3 * data_s / iters,
        sinkhorn_ms=1e3 * timer.seconds / iters,
        sinkhorn_calls=timer.calls / iters,
        data_wait_share=data_s / iter_s,
        sinkhorn_share=timer.seconds / iter_s,
        loss=loss)


def format_table(res: dict) -> str:
    """The result as a two-column text table."""
    rows = [
        ('timed iterations', f'{res["iters"]}'),
        ('iterations/s', f'{res["it_per_s"]:.3f}'),
        ('iteration time (ms)', f'{res["iter_ms"]:.1f}'),
        ('step: fwd+bwd+optim+teacher (ms)', f'{res["step_ms"]:.1f}'),
        ('data wait (ms)', f'{res["data_ms"]:.1f}'),
        ('data wait share (target < 10%)',
         f'{100 * res["data_wait_share"]:.1f}%'),
        ('Sinkhorn (ms)', f'{res["sinkhorn_ms"]:.1f}'),
        ('Sinkhorn calls / iteration', f'{res["sinkhorn_calls"]:.1f}'),
        ('Sinkhorn share', f'{100 * res["sinkhorn_share"]:.1f}%'),
        ('last loss', f'{res["loss"]:.4f}'),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    sep = f'{"=" * w0} {"=" * w1}'
    lines = [sep, f'{"metric":<{w0}} {"value":>{w1}}', sep]
    lines += [f'{a:<{w0}} {b:>{w1}}' for a, b in rows]
    lines.append(sep)
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    import skysense_mm  # noqa: F401  (registries, compat workarounds)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    res = benchmark(cfg, args.iters, args.warmup, args.work_dir)
    print(format_table(res))
    print(f'it_per_s={res["it_per_s"]:.4f} '
          f'data_wait_share={res["data_wait_share"]:.4f} '
          f'sinkhorn_share={res["sinkhorn_share"]:.4f}')


if __name__ == '__main__':
    main()
