"""SkySense pre-training: student/teacher, L_MGCL, L_align, geo prototypes.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.3, Eqs. 4-14.

:class:`SkySensePretrain` holds

- ``student``: ``ModuleDict(backbone=SkySense, heads=ModuleDict(...))``,
  one :class:`DINOProjectionHead` per feature stream (``hr``, ``s2``,
  ``s1``, ``fused``), shared by the three granularities;
- ``teacher``: a deep copy of ``student`` without gradient, always in eval
  mode (no drop path), updated only by :class:`TeacherEMAHook` after each
  optimizer step (EMA of the parameters, buffers copied: the teacher uses
  the student's geo-context prototypes, so the teacher checkpoint that goes
  downstream carries the learned prototypes);
- ``align_proj``: student-only linear projections for ``L_align``;
- ``cl_losses``: the ``L_CL`` centres, one per stream and granularity.

Loss (Eq. 14): ``L = alpha * L_MGCL + beta * L_align`` with
``L_MGCL = sum_i L_FGCL(F_i, F'_i) + L_FGCL(F_fus, F'_fus)`` (Eq. 9). The
loss dict holds every weighted term on its own, ``loss_{pix,obj,img}_
{hr,s2,s1,fused}`` and ``loss_align``; their sum is ``L``.

Views: the student sees global view ``a``, the teacher global view ``b``,
for ``(a, b)`` in ``(0, 1), (1, 0)``; the student's local HR views (HR
encoder only) are also compared with both teacher global views in the
``hr`` stream. Series terms are computed per date slot ``t`` (Eq. 5-7:
``1/T`` sum over t), on the slots real in both views. The downstream
weights are the teacher's: ``init_cfg=dict(type='Pretrained',
checkpoint=..., prefix='teacher.backbone.')``.

Data-parallel training (DDP or FSDP, see docs/pretrain.md): the prototype
update runs on the fused features and regions all-gathered from every rank,
the L_CL centres all-reduce their sums and counts, L_align gathers the
embeddings of all ranks, and the logged values are averaged over ranks, so
the teacher, the prototypes and the centres stay identical on every rank.
"""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from skysense_mm.registry import MODELS
from .losses import CLLoss, cross_modal_alignment_loss, fgcl_loss, \
    matched_cells

__all__ = ['SkySensePretrain']

_STREAMS = ('hr', 's2', 's1', 'fused')
_SERIES = ('s2', 's1')
_GRANS = ('pix', 'obj', 'img')


def _meta(sample, key):
    if sample is None:
        raise ValueError(f'SkySensePretrain needs data_samples with `{key}`')
    val = sample.metainfo.get(key) if hasattr(sample, 'metainfo') else \
        sample.get(key)
    if val is None:
        raise ValueError(f'data sample {getattr(sample, "sample_id", "?")} '
                         f'has no `{key}` in its metainfo')
    return val


@MODELS.register_module()
class SkySensePretrain(BaseModel):
    """Teacher-student pre-training of SkySense; see the module docstring.

    Args:
        backbone (dict): Config of the :class:`SkySense` encoder (with
            ``backbone_hr``; S2/S1/fusion/geo-prototypes optional).
        in_channels (dict): Feature width of each stream present, e.g.
            ``dict(hr=256, s2=64, s1=64, fused=128)`` (``fused`` is ``2d``
            with geo-context).
        head (dict): Kwargs of :class:`DINOProjectionHead` (without
            ``in_channels``). Defaults to ``dict(out_channels=1024)``.
        alpha (float): Weight of ``L_MGCL``. Defaults to 1.
        beta (float): Weight of ``L_align``. Defaults to 1.
        student_temp (float): Defaults to 0.1.
        teacher_temp (float): Defaults to 0.04.
        center_momentum (float): ``L_CL`` centre EMA. Defaults to 0.9.
        num_clusters (int): ``N_C`` of ``L_obj``. Defaults to 8.
        sinkhorn_epsilon (float): Defaults to 0.05.
        align_dim (int): Width of the ``L_align`` embeddings.
            Defaults to 128.
        align_temp (float): ``L_align`` temperature. Defaults to 0.07.
        proto_momentum (float): ``m`` of Eq. 13. Defaults to 0.99.
        proto_sinkhorn_iters (int): Defaults to 3.
        use_local_views (bool): Use the HR views after the global ones.
            Defaults to True.
        data_preprocessor (dict, optional): Defaults to
            ``SkySensePretrainDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 in_channels: Dict[str, int],
                 head: Optional[dict] = None,
                 alpha: float = 1.0,
                 beta: float = 1.0,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 center_momentum: float = 0.9,
                 num_clusters: int = 8,
                 sinkhorn_epsilon: float = 0.05,
                 align_dim: int = 128,
                 align_temp: float = 0.07,
                 proto_momentum: float = 0.99,
                 proto_sinkhorn_iters: int = 3,
                 use_local_views: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='skysense_mm.SkySensePretrainDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        encoder = MODELS.build(backbone)
        if not hasattr(encoder, 'backbone_hr'):
            raise ValueError('SkySensePretrain needs backbone.backbone_hr')
        streams = [m for m in encoder.modalities]
        if encoder.with_fusion:
            streams.append('fused')
        missing = [s for s in streams if s not in in_channels]
        if missing:
            raise ValueError(f'in_channels lacks the streams {missing} of '
                             f'this backbone (needs {streams})')
        self.streams = tuple(streams)
        head = dict(head or dict(out_channels=1024))
        head.setdefault('type', 'skysense_mm.DINOProjectionHead')
        heads = nn.ModuleDict({
            s: MODELS.build(dict(head, in_channels=in_channels[s]))
            for s in streams
        })
        self.student = nn.ModuleDict(dict(backbone=encoder, heads=heads))
        self.teacher = copy.deepcopy(self.student)
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        out = heads[streams[0]].out_channels
        self.cl_losses = nn.ModuleDict({
            f'{g}_{s}': CLLoss(out, student_temp, teacher_temp,
                               center_momentum)
            for s in streams for g in _GRANS
        })
        mods = list(encoder.modalities)
        self.align_proj = nn.ModuleDict({
            m: nn.Linear(in_channels[m], align_dim)
            for m in mods
        }) if len(mods) > 1 else nn.ModuleDict()
        self.alpha, self.beta = alpha, beta
        self.num_clusters = num_clusters
        self.sinkhorn_epsilon = sinkhorn_epsilon
        self.align_temp = align_temp
        self.proto_momentum = proto_momentum
        self.proto_sinkhorn_iters = proto_sinkhorn_iters
        self.use_local_views = use_local_views

    # ------------------------------------------------------------------
    # teacher
    # ------------------------------------------------------------------
    def train(self, mode: bool = True):
        """Set the mode; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def init_weights(self):
        """Initialise the student, then copy it into the teacher."""
        from torch.distributed.fsdp import FullyShardedDataParallel
        if any(isinstance(m, FullyShardedDataParallel)
               for m in self.modules()):
            raise RuntimeError(
                'SkySensePretrain.init_weights on an FSDP-wrapped model (the '
                'plain mmengine Runner wraps before it initialises): use '
                "runner_type='FlexibleRunner' with strategy=dict(type="
                "'FSDPStrategy', ...), as configs/pretrain/"
                'skysense_paper_pretrain_fsdp.py')
        super().init_weights()
        self.teacher.load_state_dict(self.student.state_dict())

    def ema_pairs(self) -> Tuple[List[torch.Tensor], List[torch.Tensor],
                                 List[torch.Tensor], List[torch.Tensor]]:
        """Matched ``(student params, teacher params, student buffers,
        teacher buffers)`` for :class:`TeacherEMAHook`."""
        sp = dict(self.student.named_parameters())
        tp = dict(self.teacher.named_parameters())
        sb = dict(self.student.named_buffers())
        tb = dict(self.teacher.named_buffers())
        if sp.keys() != tp.keys() or sb.keys() != tb.keys():
            raise RuntimeError('student and teacher differ in structure')
        return ([sp[k] for k in sp], [tp[k] for k in sp],
                [sb[k] for k in sb], [tb[k] for k in sb])

    def parse_losses(self, losses: Dict[str, torch.Tensor]):
        """mmengine's ``parse_losses``; logged values averaged over ranks.

        The loss that is back-propagated stays this rank's own (DDP averages
        the gradients); the logged ``log_vars`` are the mean over ranks (as
        mmdet 2.x did), so a log of a data-parallel run shows the loss of
        the whole batch, comparable with one process on the same batch.
        """
        loss, log_vars = super().parse_losses(losses)
        _, world = _dist_world()
        if world > 1:
            names = list(log_vars)
            vals = torch.stack(
                [log_vars[k].detach().float().reshape(()) for k in names])
            torch.distributed.all_reduce(vals)
            vals = vals / world
            log_vars = OrderedDict((k, vals[i]) for i, k in enumerate(names))
        return loss, log_vars

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward(self,
                inputs: dict,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """``loss``: the loss dict; ``tensor``: teacher maps of view 0."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.teacher['backbone'](self._global_inputs(inputs, 0))
        raise RuntimeError(f'SkySensePretrain has no mode {mode!r} '
                           "(use 'loss' or 'tensor')")

    def _global_inputs(self, inputs: dict, views) -> dict:
        """SkySense inputs of global view(s), views concatenated on batch."""
        views = [views] if isinstance(views, int) else list(views)
        out = dict(hr=torch.cat([inputs['hr'][v] for v in views]))
        modalities = self.student['backbone'].modalities
        for m in _SERIES:
            if m not in inputs or m not in modalities:
                continue
            mask = torch.cat([inputs[m + '_mask'][v] for v in views])
            if not bool(mask.any()):
                continue
            out[m] = torch.cat([inputs[m][v] for v in views])
            out[m + '_doy'] = torch.cat([inputs[m + '_doy'][v] for v in views])
            out[m + '_mask'] = mask
        if self.student['backbone'].with_geo:
            out['latlon'] = inputs['latlon'].repeat(len(views), 1)
        return out

    @staticmethod
    def _stream_maps(feats: dict) -> Dict[str, torch.Tensor]:
        """Stream -> pixel maps ``(N, C, h, w)`` or ``(N, T, C, h, w)``."""
        maps = dict(hr=feats['hr'][-1])
        for m in _SERIES:
            if m in feats:
                maps[m] = feats[m][-1]
        if 'fused' in feats:
            maps['fused'] = feats['fused']
        return maps

    def loss(self, inputs: dict, data_samples: Sequence) -> Dict[str,
                                                                 torch.Tensor]:
        """All loss terms (weighted); see the module docstring.

        Args:
            inputs (dict): Output of ``SkySensePretrainDataPreprocessor``.
            data_samples (list): Per-sample elements with ``view_boxes``,
                ``view_flips``, ``view_rot90``.

        Returns:
            dict[str, Tensor]: ``loss_{pix,obj,img}_{stream}`` and
            ``loss_align``.
        """
        b = inputs['hr'][0].shape[0]
        if data_samples is None or len(data_samples) != b:
            raise ValueError('SkySensePretrain.loss needs one data sample per '
                             'input sample')
        geo = [(torch.as_tensor(_meta(s, 'view_boxes')).reshape(-1, 4),
                torch.as_tensor(_meta(s, 'view_flips')).reshape(-1),
                torch.as_tensor(_meta(s, 'view_rot90')).reshape(-1))
               for s in data_samples]
        num_views = len(inputs['hr'])
        student_in = self._global_inputs(inputs, (0, 1))
        s_feats = self.student['backbone'].forward_features(student_in)
        with torch.no_grad():
            t_feats = self.teacher['backbone'].forward_features(student_in)
        s_maps = self._stream_maps(s_feats)
        t_maps = self._stream_maps(t_feats)
        # student views: (view index, stream maps with B rows)
        s_views = [(v, {k: x[v * b:(v + 1) * b]
                        for k, x in s_maps.items()}) for v in (0, 1)]
        if self.use_local_views:
            for v in range(2, num_views):
                local = self.student['backbone'].backbone_hr(inputs['hr'][v])
                s_views.append((v, dict(hr=local[-1])))
        t_views = {v: {k: x[v * b:(v + 1) * b]
                       for k, x in t_maps.items()} for v in (0, 1)}
        present = {
            m: inputs.get(m + '_present',
                          torch.ones(b, dtype=torch.bool)).to(
                              inputs['hr'][0].device)
            for m in _SERIES
        }
        terms: Dict[str, List[torch.Tensor]] = {}
        for sv, s_map in s_views:
            for tv in (0, 1):
                if tv == sv:
                    continue
                for stream, s_x in s_map.items():
                    t_x = t_views[tv].get(stream)
                    if t_x is None:
                        continue
                    out = self._stream_fgcl(stream, s_x, t_x, sv, tv, geo,
                                            student_in, present)
                    for g, val in out.items():
                        terms.setdefault(f'loss_{g}_{stream}', []).append(val)
        # every term always present (zero when a modality is absent from
        # the batch), so logs and ranks see the same keys
        zero = s_maps['hr'].sum() * 0
        losses = {
            f'loss_{g}_{stream}':
            self.alpha * torch.stack(terms.get(f'loss_{g}_{stream}',
                                               [zero])).mean()
            for stream in self.streams for g in _GRANS
        }
        if len(self.align_proj):
            losses['loss_align'] = self.beta * self._align_loss(
                s_maps, student_in, present, b)
        for cl in self.cl_losses.values():
            cl.flush_center()
        # geo-context prototype learning (Eq. 11-13): student only, no grad
        if self.student['backbone'].with_geo and self.training:
            fused_mm, region = _gather_no_grad(s_feats['fused_mm'].detach(),
                                               s_feats['region_idx'])
            self.student['backbone'].geo_prototypes.update(
                fused_mm,
                region,
                momentum=self.proto_momentum,
                epsilon=self.sinkhorn_epsilon,
                num_iters=self.proto_sinkhorn_iters)
        return losses

    def _stream_fgcl(self, stream, s_x, t_x, sv, tv, geo, student_in,
                     present) -> Dict[str, torch.Tensor]:
        """``L_FGCL`` of one stream between student view sv, teacher tv."""
        b = s_x.shape[0]
        if stream in _SERIES:
            # (B, T, C, h, w): one image per sample and real date slot
            mask = student_in[stream + '_mask']
            keep = mask[sv * b:(sv + 1) * b] & mask[tv * b:(tv + 1) * b] & \
                present[stream][:, None]
            rows, slots = keep.nonzero(as_tuple=True)
            s_img, t_img = s_x[rows, slots], t_x[rows, slots]
            owners = rows.tolist()
        else:
            s_img, t_img, owners = s_x, t_x, list(range(b))
        if s_img.shape[0] == 0:
            zero = s_x.sum() * 0
            return dict(pix=zero, obj=zero, img=zero)
        pairs = []
        cache = {}
        for n in owners:
            if n not in cache:
                boxes, flips, rots = geo[n]
                cache[n] = matched_cells(
                    boxes[sv], boxes[tv], s_img.shape[-2:], t_img.shape[-2:],
                    bool(flips[sv]), bool(flips[tv]), int(rots[sv]),
                    int(rots[tv]), device=s_img.device)
            pairs.append(cache[n])
        heads_s = self.student['heads'][stream]
        heads_t = self.teacher['heads'][stream]
        return fgcl_loss(
            s_img,
            t_img,
            pairs,
            heads_s,
            heads_t, {g: self.cl_losses[f'{g}_{stream}']
                      for g in _GRANS},
            num_clusters=self.num_clusters,
            sinkhorn_epsilon=self.sinkhorn_epsilon)

    def _align_loss(self, s_maps, student_in, present, b) -> torch.Tensor:
        """``L_align`` (Eq. 10) on the student's global views.

        Under data-parallel training the embeddings of all ranks are
        gathered (with gradient) and every rank's own samples are the
        queries, so negatives come from the whole batch.
        """
        total = []
        for v in (0, 1):
            emb, valid = {}, {}
            for m in self.align_proj:
                if m not in s_maps:
                    continue
                x = s_maps[m][v * b:(v + 1) * b]
                if m == 'hr':
                    pooled = x.mean((2, 3))
                    valid[m] = torch.ones(b, dtype=torch.bool,
                                          device=x.device)
                else:
                    mask = student_in[m + '_mask'][v * b:(v + 1) * b]
                    w = mask.to(x.dtype)[:, :, None]
                    pooled = (x.mean(
                        (3, 4)) * w).sum(1) / w.sum(1).clamp_min(1)
                    valid[m] = mask.any(1) & present[m]
                emb[m] = self.align_proj[m](pooled)
            emb, valid, rows = _gather_batch(emb, valid, b)
            total.append(
                cross_modal_alignment_loss(emb, self.align_temp, valid, rows))
        return torch.stack(total).mean()


def _dist_world() -> Tuple[int, int]:
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        return (torch.distributed.get_rank(),
                torch.distributed.get_world_size())
    return 0, 1


def _gather_batch(emb: Dict[str, torch.Tensor], valid: Dict[str,
                                                           torch.Tensor],
                  b: int):
    """All-gather embeddings (with gradient) and masks over ranks.

    Every modality of the model gets a row for every sample (zeros and
    ``valid`` False when a rank lacks it), so shapes agree across ranks.
    Returns the gathered dicts and the bool mask of this rank's rows.
    """
    rank, world = _dist_world()
    device = next(iter(emb.values())).device
    if world == 1:
        return emb, valid, None
    from torch.distributed.nn.functional import all_gather as ag_grad
    out_e, out_v = {}, {}
    for m in emb:
        out_e[m] = torch.cat(ag_grad(emb[m].contiguous()))
        flags = valid[m].to(torch.uint8)
        gathered = [torch.zeros_like(flags) for _ in range(world)]
        torch.distributed.all_gather(gathered, flags)
        out_v[m] = torch.cat(gathered).bool()
    rows = torch.zeros(b * world, dtype=torch.bool, device=device)
    rows[rank * b:(rank + 1) * b] = True
    return out_e, out_v, rows


def _gather_no_grad(features: torch.Tensor, region: torch.Tensor):
    """Features and regions of all ranks, so every rank's prototypes get the
    same update (Eq. 11-13 on the whole batch) and stay identical."""
    _, world = _dist_world()
    if world == 1:
        return features, region
    feats = [torch.zeros_like(features) for _ in range(world)]
    regs = [torch.zeros_like(region) for _ in range(world)]
    torch.distributed.all_gather(feats, features.contiguous())
    torch.distributed.all_gather(regs, region.contiguous())
    return torch.cat(feats), torch.cat(regs)
