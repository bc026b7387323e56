"""Benchmark the SkySense encoders and fusion against the library modules.

SkySense: https://arxiv.org/abs/2312.10115. For each part, our module and
the reference library module get the same weights and the same input in the
same process, and forward + backward are timed alternately:

====== ================================ =====================================
part   ours                             reference
====== ================================ =====================================
swin   ``SkySenseSwinV2``               mmpretrain ``SwinTransformerV2``
vit    ``SkySenseViT``                  mmseg ``VisionTransformer``
fusion ``SkySenseFusionNeck.fusion``    ``proj`` + cls token + a stack of
                                        mmseg ``TransformerEncoderLayer``
====== ================================ =====================================

Usage::

    python tools/analysis_tools/benchmark_backbone.py [--size tiny|small|paper]
        [--device cpu|cuda] [--dtype fp32|bf16] [--with-cp] [--iters N]
        [--warmup N] [--parts swin vit fusion]

Times are the best of ``--iters`` timed iterations (after ``--warmup``),
ours and the reference alternating, so other processes on a shared machine
disturb both alike. The last line is
``speedup=<min over parts> max_abs_diff=<max over parts>`` (speedup =
reference time / our time; max_abs_diff = largest absolute difference of
the forward outputs; the ``grad_diff`` column is the same for the parameter
gradients).

Peak memory: on CUDA, ``torch.cuda.max_memory_allocated`` during forward +
backward minus the memory allocated before it (weights and inputs), i.e.
activations, gradients and workspace. On CPU there is no allocator
statistic, so it is estimated as the bytes of the distinct storages that
autograd saves for backward during the forward pass (recorded with
``torch.autograd.graph.saved_tensors_hooks``; parameters excluded) plus the
parameter gradients: the activation memory that dominates training, not the
transient workspace of single kernels.
"""
import argparse
import contextlib
import math
import os.path as osp
import sys
import time

import torch
from torch import nn

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

#: Per size: swin (arch, window, img, batch), vit (arch, img, batch,
#: out_indices), fusion (in_channels, embed_dims, layers, heads, pixels,
#: tokens per pixel).
SIZES = {
    'tiny':
    dict(
        swin=dict(
            arch=dict(embed_dims=32, depths=(2, 2, 2, 2),
                      num_heads=(1, 2, 4, 8)),
            window_size=4, img=64, batch=2),
        vit=dict(
            arch=dict(embed_dims=64, num_layers=2, num_heads=2), img=16,
            batch=8, in_channels=10, out_indices=(0, 1)),
        fusion=dict(
            in_channels=256, embed_dims=64, num_layers=2, num_heads=2,
            pixels=32, tokens=7)),
    'small':
    dict(
        swin=dict(arch='tiny', window_size=8, img=256, batch=2),
        vit=dict(
            arch=dict(embed_dims=384, num_layers=6, num_heads=6), img=32,
            batch=20, in_channels=10, out_indices=(1, 3, 5)),
        fusion=dict(
            in_channels=768, embed_dims=384, num_layers=6, num_heads=6,
            pixels=128, tokens=16)),
    'paper':
    dict(
        swin=dict(arch='huge', window_size=8, img=512, batch=2),
        vit=dict(
            arch='large', img=16, batch=40, in_channels=10,
            out_indices=(5, 11, 17, 23)),
        fusion=dict(
            in_channels=2816, embed_dims=1024, num_layers=24, num_heads=16,
            pixels=512, tokens=31)),
}


# ----------------------------------------------------------------- builders
def build_swin(cfg, with_cp):
    """(ours, reference, input) for the HR Swin-V2 encoder."""
    from skysense_mm.models.backbones.swin_v2 import (SkySenseSwinV2,
                                                      build_reference_swin_v2)
    ours = SkySenseSwinV2(
        arch=cfg['arch'], img_size=cfg['img'], window_size=cfg['window_size'],
        drop_path_rate=0., with_cp=with_cp)
    ours.init_weights()
    ref = build_reference_swin_v2(ours)
    x = torch.randn(cfg['batch'], 3, cfg['img'], cfg['img'])
    return ours, ref, x


def build_vit(cfg, with_cp):
    """(ours, reference, input) for the S2/S1 ViT encoder."""
    from mmseg.models.backbones import VisionTransformer

    from skysense_mm.models.backbones.vit import SkySenseViT
    common = dict(
        img_size=cfg['img'], patch_size=4, in_channels=cfg['in_channels'],
        out_indices=cfg['out_indices'], qkv_bias=True, drop_path_rate=0.,
        with_cls_token=False, final_norm=False,
        norm_cfg=dict(type='LN', eps=1e-6), with_cp=with_cp)
    ours = SkySenseViT(arch=cfg['arch'], **common)
    ours.init_weights()
    ref = VisionTransformer(
        embed_dims=ours.embed_dims, num_layers=ours.num_layers,
        num_heads=ours.num_heads,
        mlp_ratio=ours.feedforward_channels // ours.embed_dims, **common)
    _load_same(ref, ours)
    x = torch.randn(cfg['batch'], cfg['in_channels'], cfg['img'], cfg['img'])
    return ours, ref, x


class ReferenceFusion(nn.Module):
    """The official fusion encoder from library layers only.

    ``proj`` (official ``porj_linear``), a cls token and a stack of mmseg
    ``TransformerEncoderLayer`` (``nn.MultiheadAttention`` via mmcv); same
    keys as ``SkySenseFusionNeck.fusion``.

    Args:
        in_channels (int): Token width before ``proj``.
        embed_dims (int): Model width.
        num_layers (int): Encoder layers.
        num_heads (int): Attention heads.
        mlp_ratio (int): FFN width / ``embed_dims``.
        with_cp (bool): mmseg's activation checkpointing.
    """

    def __init__(self, in_channels, embed_dims, num_layers, num_heads,
                 mlp_ratio=4, with_cp=False):
        super().__init__()
        from mmseg.models.backbones.vit import TransformerEncoderLayer
        self.proj = nn.Linear(in_channels, embed_dims)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.layers = nn.ModuleList([
            TransformerEncoderLayer(
                embed_dims=embed_dims, num_heads=num_heads,
                feedforward_channels=mlp_ratio * embed_dims,
                batch_first=True, attn_cfg=dict(), ffn_cfg=dict(),
                with_cp=with_cp) for _ in range(num_layers)
        ])

    def forward(self, tokens):
        x = self.proj(tokens)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        for layer in self.layers:
            x = layer(x)
        return x[:, 0]


def build_fusion(cfg, with_cp):
    """(ours, reference, input) for the fusion transformer."""
    from skysense_mm.models.necks.fusion_neck import FusionTransformer
    ours = FusionTransformer(
        in_channels=cfg['in_channels'], embed_dims=cfg['embed_dims'],
        num_layers=cfg['num_layers'], num_heads=cfg['num_heads'],
        mlp_ratio=4, drop_path_rate=0., with_cp=with_cp)
    ours.init_weights()
    ref = ReferenceFusion(cfg['in_channels'], cfg['embed_dims'],
                          cfg['num_layers'], cfg['num_heads'], 4, with_cp)
    _load_same(ref, ours)
    x = torch.randn(cfg['pixels'], cfg['tokens'], cfg['in_channels'])
    return ours, ref, x


BUILDERS = dict(swin=build_swin, vit=build_vit, fusion=build_fusion)


def _load_same(ref, ours):
    result = ref.load_state_dict(ours.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys


# ------------------------------------------------------------------ measure
class SavedTensorMeter:
    """Bytes of distinct storages saved for backward (CPU memory estimate).

    Args:
        exclude (Iterable[Tensor]): Tensors whose storages are not counted
            (the parameters).
    """

    def __init__(self, exclude=()):
        self.exclude = {t.untyped_storage().data_ptr() for t in exclude}
        self.storages = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(
            self._pack, lambda t: t)

    def _pack(self, t):
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in self.exclude:
            self.storages[ptr] = storage.nbytes()
        return t

    def __enter__(self):
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self._hooks.__exit__(*exc)

    @property
    def nbytes(self):
        return sum(self.storages.values())


def _outputs(out):
    """Flatten a module output into a list of tensors."""
    if torch.is_tensor(out):
        return [out]
    flat = []
    for o in out:
        flat.extend(_outputs(o))
    return flat


def run_once(model, x, weights, device, autocast_dtype, cpu_memory=False):
    """One forward + backward; returns (seconds, peak bytes, outputs).

    On CUDA the peak is always measured; on CPU only with ``cpu_memory``
    (the saved-tensor hook costs time, so those runs are not timed), else
    it is 0.
    """
    model.zero_grad(set_to_none=True)
    params = list(model.parameters())
    cuda = device.type == 'cuda'
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    meter = SavedTensorMeter(exclude=params) if cpu_memory else None
    start = time.perf_counter()
    amp = (torch.autocast(device.type, dtype=autocast_dtype)
           if autocast_dtype is not None else contextlib.nullcontext())
    with amp:
        if meter is not None:
            with meter:
                outs = _outputs(model(x))
        else:
            outs = _outputs(model(x))
        loss = sum((o.float() * w).sum() for o, w in zip(outs, weights))
    loss.backward()
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    if cuda:
        peak = torch.cuda.max_memory_allocated(device) - base
    elif meter is not None:
        peak = meter.nbytes + sum(p.numel() * p.element_size()
                                  for p in params if p.requires_grad)
    else:
        peak = 0
    return seconds, peak, [o.detach().float() for o in outs]


def bench_part(name, cfg, args, device, autocast_dtype):
    """Time ours and the reference alternately; returns a result dict."""
    torch.manual_seed(0)
    ours, ref, x = BUILDERS[name](cfg, args.with_cp)
    ours, ref, x = ours.to(device), ref.to(device), x.to(device)
    ours.train()  # mmpretrain's train() returns None: no chaining
    ref.train()
    with torch.no_grad():
        shapes = [o.shape for o in _outputs(ours(x))]
    gen = torch.Generator().manual_seed(1)
    weights = [
        torch.randn(s, generator=gen).to(device) / math.sqrt(s.numel())
        for s in shapes
    ]
    times = dict(ours=[], ref=[])
    peaks = dict(ours=0, ref=0)
    first = {}
    # one untimed run each: outputs for the parity check, CPU memory
    for impl, model in (('ours', ours), ('ref', ref)):
        _, peaks[impl], first[impl] = run_once(
            model, x, weights, device, autocast_dtype, cpu_memory=True)
    for it in range(args.warmup + args.iters):
        order = (('ref', ref), ('ours', ours)) if it % 2 else (('ours', ours),
                                                              ('ref', ref))
        for impl, model in order:
            sec, peak, _ = run_once(model, x, weights, device,
                                    autocast_dtype)
            peaks[impl] = max(peaks[impl], peak)
            if it >= args.warmup:
                times[impl].append(sec)
    diff = max((a - b).abs().max().item()
               for a, b in zip(first['ours'], first['ref']))
    grad_diff = max(
        ((p.grad - q.grad).abs().max().item()
         for (_, p), (_, q) in zip(
             sorted(ours.named_parameters()), sorted(ref.named_parameters()))
         if p.grad is not None and q.grad is not None),
        default=0.)
    # best of N: robust to other processes on a shared machine
    t_ours, t_ref = min(times['ours']), min(times['ref'])
    return dict(
        part=name, t_ours=t_ours, t_ref=t_ref, speedup=t_ref / t_ours,
        mem_ours=peaks['ours'], mem_ref=peaks['ref'], diff=diff,
        grad_diff=grad_diff,
        params=sum(p.numel() for p in ours.parameters()),
        input=tuple(x.shape))


def format_table(results):
    header = ('part', 'params', 'input', 'ours ms', 'ref ms', 'speedup',
              'ours MiB', 'ref MiB', 'mem ratio', 'max_abs_diff',
              'grad_diff')
    rows = [header]
    for r in results:
        rows.append((r['part'], f'{r["params"] / 1e6:.2f}M',
                     'x'.join(map(str, r['input'])),
                     f'{r["t_ours"] * 1e3:.1f}', f'{r["t_ref"] * 1e3:.1f}',
                     f'{r["speedup"]:.2f}', f'{r["mem_ours"] / 2**20:.1f}',
                     f'{r["mem_ref"] / 2**20:.1f}',
                     f'{r["mem_ours"] / max(r["mem_ref"], 1):.2f}',
                     f'{r["diff"]:.2e}', f'{r["grad_diff"]:.2e}'))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ['| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) +
             ' |' for row in rows]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='SkySense encoders vs. library modules: forward + '
        'backward time and peak memory')
    parser.add_argument('--size', choices=sorted(SIZES), default='tiny',
                        help='model/input sizes (paper = full size, GPU)')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda[:i] (default: cuda if available)')
    parser.add_argument('--dtype', choices=('fp32', 'bf16'), default='fp32',
                        help='bf16 = torch.autocast(bfloat16)')
    parser.add_argument('--with-cp', action='store_true',
                        help='activation checkpointing in both models')
    parser.add_argument('--iters', type=int, default=5,
                        help='timed iterations per model (best reported)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed iterations first')
    parser.add_argument('--parts', nargs='+', choices=sorted(BUILDERS),
                        default=['swin', 'vit', 'fusion'])
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads on CPU')
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error('--iters must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        args.device = torch.device(device)
    except RuntimeError:
        parser.error(f'--device: unknown device {device!r}')
    if args.device.type == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda requested but CUDA is not available')
    if args.device.type not in ('cpu', 'cuda'):
        parser.error(f'--device must be cpu or cuda, got {device!r}')
    return args


def main(argv=None):
    args = parse_args(argv)
    import skysense_mm  # noqa: F401  (compat patches, registries)
    from mmengine.logging import MMLogger

    # keep init_weights / checkpoint messages out of the table
    MMLogger.get_instance('benchmark_backbone', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    autocast_dtype = torch.bfloat16 if args.dtype == 'bf16' else None
    results = [
        bench_part(name, SIZES[args.size][name], args, args.device,
                   autocast_dtype) for name in args.parts
    ]
    mem = ('torch.cuda.max_memory_allocated' if args.device.type == 'cuda'
           else 'saved-for-backward storages + grads (estimate)')
    dev_name = (torch.cuda.get_device_name(args.device)
                if args.device.type == 'cuda' else
                f'cpu x{torch.get_num_threads()} threads')
    print(f'size={args.size} device={dev_name} dtype={args.dtype} '
          f'with_cp={args.with_cp} iters={args.iters} warmup={args.warmup} '
          f'torch={torch.__version__}; memory: {mem}')
    print(format_table(results))
    speedup = min(r['speedup'] for r in results)
    diff = max(r['diff'] for r in results)
    print(f'speedup={speedup:.3f} max_abs_diff={diff:.3e}')


if __name__ == '__main__':
    main()
