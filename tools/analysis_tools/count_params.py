"""Count the parameters of a config's model without allocating it.

SkySense: https://arxiv.org/abs/2312.10115. Usage::

    python tools/analysis_tools/count_params.py \
        configs/_base_/models/skysense_paper.py [--depth 2] \
        [--cfg-options model.use_geo_context=False]

The model is built on the ``meta`` device. The table lists, per module up
to ``--depth``: trainable parameters, frozen parameters, state buffers
(e.g. the geo-context prototypes, counted in the total) and rebuilt
buffers (Swin-V2 relative position tables, not counted). The last line is
``total_params=<N>`` with N = parameters + state buffers.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmengine.config import DictAction  # noqa: E402

COLUMNS = ('trainable', 'frozen', 'buffers', 'total', 'rebuilt')


def count_module(module):
    """Counts of one module (see :data:`COLUMNS`).

    Args:
        module (nn.Module): Module (any device, ``meta`` included).

    Returns:
        dict[str, int]: trainable / frozen parameters, state buffers,
        their total, and rebuilt buffers (not in the total).
    """
    from skysense_mm.models.utils.official_ckpt import is_rebuilt_buffer
    counts = dict.fromkeys(COLUMNS, 0)
    for p in module.parameters():
        counts['trainable' if p.requires_grad else 'frozen'] += p.numel()
    for name, b in module.named_buffers():
        if is_rebuilt_buffer(name) or name.endswith('num_batches_tracked'):
            counts['rebuilt'] += b.numel()
        else:
            counts['buffers'] += b.numel()
    counts['total'] = counts['trainable'] + counts['frozen'] + counts[
        'buffers']
    return counts


def count_tensor(name, tensor, is_param):
    """Counts (see :data:`COLUMNS`) of a single parameter or buffer."""
    from skysense_mm.models.utils.official_ckpt import is_rebuilt_buffer
    counts = dict.fromkeys(COLUMNS, 0)
    if is_param:
        counts['trainable' if tensor.requires_grad else 'frozen'] = \
            tensor.numel()
    elif is_rebuilt_buffer(name) or name.endswith('num_batches_tracked'):
        counts['rebuilt'] = tensor.numel()
    else:
        counts['buffers'] = tensor.numel()
    counts['total'] = counts['trainable'] + counts['frozen'] + counts[
        'buffers']
    return counts


def iter_rows(module, depth, prefix=''):
    """(name, counts) for the children of ``module`` down to ``depth``.

    Below the top level, parameters and buffers held directly by a module
    (e.g. ``fusion_neck.date_embedding``) get their own rows too.
    """
    if prefix:
        for name, p in module.named_parameters(recurse=False):
            yield prefix + name, count_tensor(name, p, True)
        for name, b in module.named_buffers(recurse=False):
            yield prefix + name, count_tensor(name, b, False)
    for name, child in module.named_children():
        full = f'{prefix}{name}'
        yield full, count_module(child)
        if depth > 1:
            yield from iter_rows(child, depth - 1, full + '.')


def format_table(rows):
    """Plain-text table of ``(name, counts)`` rows."""
    header = ('module', ) + COLUMNS
    body = [(name, ) + tuple(f'{c[k]:,}' for k in COLUMNS)
            for name, c in rows]
    widths = [max(len(r[i]) for r in [header] + body)
              for i in range(len(header))]
    lines = []
    for i, row in enumerate([header] + body):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(w) for cell, w in zip(row[1:], widths[1:])
        ]
        lines.append('  '.join(cells))
        if i == 0 or i == len(body) - 1:
            lines.append('  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Count model parameters on the meta device')
    parser.add_argument('config', help='config file with a "model" field')
    parser.add_argument(
        '--depth', type=int, default=1,
        help='levels of submodules in the table (default 1)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    args = parser.parse_args(argv)
    if args.depth < 1:
        parser.error('--depth must be >= 1')
    if not osp.isfile(args.config):
        parser.error(f'config {args.config!r} is not a file')
    return args


def main(argv=None):
    args = parse_args(argv)
    from skysense_mm.models.utils.meta_build import build_model_on_meta
    model = build_model_on_meta(args.config, args.cfg_options)
    rows = list(iter_rows(model, args.depth))
    total = count_module(model)
    own = dict(total)
    for _, c in (r for r in rows if '.' not in r[0]):
        for k in COLUMNS:
            own[k] -= c[k]
    if any(own.values()):
        rows.append(('(own)', own))
    rows.append(('total', total))
    print(f'{args.config}: {type(model).__name__}')
    print(format_table(rows))
    print(f'total_params={total["total"]}')


if __name__ == '__main__':
    main()
