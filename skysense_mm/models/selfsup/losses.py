"""Pre-training losses of SkySense: L_CL, L_pix, L_obj, L_img, L_align.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115), §3.3, Eqs. 5-10.

- :class:`DINOProjectionHead`: the DINO projection head (Caron et al.,
  ICCV 2021) that maps a feature vector to ``out_channels`` logits.
- :func:`dino_cross_entropy` / :class:`CLLoss`: ``L_CL``, the cross-entropy
  between the centred and sharpened teacher distribution and the student
  distribution, with the EMA centre of DINO.
- :func:`pixel_contrast_loss` (Eq. 5), :func:`object_contrast_loss` (Eq. 6),
  :func:`image_contrast_loss` (Eq. 7), :func:`fgcl_loss` (Eq. 8, their sum).
- :func:`cross_modal_alignment_loss` (Eq. 10): the ALBEF image-text
  contrastive loss applied to pairs of modalities (student only).
- :func:`matched_cells`: which feature-grid cells of two augmented views
  show the same ground, from the view boxes, flips and rotations of
  ``PackSkySensePretrainInputs`` (data contract, section 2), via the
  transforms' ``view_correspondence``.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from skysense_mm.registry import MODELS
from ..utils.sinkhorn import sinkhorn_cluster

__all__ = [
    'DINOProjectionHead', 'CLLoss', 'dino_cross_entropy',
    'matched_cells', 'pixel_contrast_loss', 'object_contrast_loss',
    'image_contrast_loss', 'fgcl_loss', 'cross_modal_alignment_loss',
    'cosine_momentum'
]


@MODELS.register_module()
class DINOProjectionHead(BaseModule):
    """DINO projection head: MLP, L2 normalisation, weight-normed linear.

    Mirrors ``DINOHead`` of DINO (https://arxiv.org/abs/2104.14294): a
    ``num_layers`` MLP with GELU to a ``bottleneck_channels`` vector, which
    is L2-normalised and mapped to ``out_channels`` logits by a linear layer
    without bias whose rows have unit norm (DINO's ``weight_norm`` with the
    gain frozen to 1, ``norm_last_layer=True``). Works on any leading shape.

    Args:
        in_channels (int): Feature width.
        out_channels (int): Number of logits ``K``. Defaults to 1024.
        hidden_channels (int): MLP width. Defaults to 512.
        bottleneck_channels (int): Width before the last layer.
            Defaults to 128.
        num_layers (int): MLP layers (>= 1). Defaults to 3.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 1024,
                 hidden_channels: int = 512,
                 bottleneck_channels: int = 128,
                 num_layers: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        layers = []
        width = in_channels
        for i in range(num_layers - 1):
            layers += [nn.Linear(width, hidden_channels), nn.GELU()]
            width = hidden_channels
        layers.append(nn.Linear(width, bottleneck_channels))
        self.mlp = nn.Sequential(*layers)
        self.last_weight = nn.Parameter(
            torch.empty(out_channels, bottleneck_channels))
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.last_weight, std=0.02)
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(..., in_channels)`` features to ``(..., K)`` logits."""
        if x.shape[-1] != self.in_channels:
            raise ValueError(f'DINOProjectionHead expects {self.in_channels} '
                             f'channels, got {tuple(x.shape)}')
        x = F.normalize(self.mlp(x), dim=-1)
        return F.linear(x, F.normalize(self.last_weight, dim=-1))


def dino_cross_entropy(student_logits: torch.Tensor,
                       teacher_logits: torch.Tensor,
                       center: Optional[torch.Tensor] = None,
                       student_temp: float = 0.1,
                       teacher_temp: float = 0.04) -> torch.Tensor:
    """``L_CL`` of DINO: cross-entropy of teacher and student distributions.

    Mean over rows of ``-softmax((t - c) / tau_t) . log_softmax(s / tau_s)``.

    Args:
        student_logits (Tensor): ``(N, K)``.
        teacher_logits (Tensor): ``(N, K)``, row ``n`` is the positive of the
            student's row ``n``; no gradient flows into it.
        center (Tensor, optional): ``(K,)`` or ``(1, K)`` teacher centre.
        student_temp (float): ``tau_s``. Defaults to 0.1.
        teacher_temp (float): ``tau_t`` (sharpening). Defaults to 0.04.

    Returns:
        Tensor: Scalar loss (0 with grad when ``N == 0``).
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError('student and teacher logits differ in shape: '
                         f'{tuple(student_logits.shape)} vs '
                         f'{tuple(teacher_logits.shape)}')
    if student_logits.shape[0] == 0:
        return student_logits.sum() * 0
    t = teacher_logits.detach().float()
    if center is not None:
        t = t - center.reshape(1, -1).float()
    target = F.softmax(t / teacher_temp, dim=-1)
    logp = F.log_softmax(student_logits.float() / student_temp, dim=-1)
    return -(target * logp).sum(-1).mean()


class CLLoss(nn.Module):
    """``L_CL`` with its own EMA centre (one per feature stream/granularity).

    In training, every call adds the teacher logits to a pending sum; the
    centre moves once per iteration in :meth:`flush_center` (DINO: one
    update per step, averaged over ranks), which the model calls for every
    ``CLLoss`` at the end of its loss, so all ranks all-reduce the same
    number of times even when a rank had no rows for this stream.

    Args:
        out_channels (int): ``K``, the head's logits.
        student_temp (float): Defaults to 0.1.
        teacher_temp (float): Defaults to 0.04.
        center_momentum (float): EMA of the centre. Defaults to 0.9 (DINO).
    """

    def __init__(self,
                 out_channels: int,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 center_momentum: float = 0.9) -> None:
        super().__init__()
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.register_buffer('center', torch.zeros(1, out_channels))
        self._pending = None

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> torch.Tensor:
        """Loss with the current centre; queue the teacher logits."""
        loss = dino_cross_entropy(student_logits, teacher_logits, self.center,
                                  self.student_temp, self.teacher_temp)
        if self.training:
            with torch.no_grad():
                t = teacher_logits.detach().float()
                add = (t.sum(0, keepdim=True), t.shape[0])
                if self._pending is None:
                    self._pending = add
                else:
                    self._pending = (self._pending[0] + add[0],
                                     self._pending[1] + add[1])
        return loss

    @torch.no_grad()
    def flush_center(self) -> None:
        """``c <- m c + (1 - m) mean(queued teacher logits)`` over ranks.

        No change when no rank queued anything.
        """
        if self._pending is None:
            total = torch.zeros_like(self.center, dtype=torch.float32)
            count = 0
        else:
            total, count = self._pending
        self._pending = None
        count = torch.tensor([float(count)], device=self.center.device)
        total = total.to(self.center.device)
        if torch.distributed.is_available() and \
                torch.distributed.is_initialized():
            torch.distributed.all_reduce(total)
            torch.distributed.all_reduce(count)
        if count.item() == 0:
            return
        mean = total / count
        self.center.mul_(self.center_momentum).add_(
            mean.to(self.center.dtype), alpha=1 - self.center_momentum)


# ----------------------------------------------------------------------
# view geometry
# ----------------------------------------------------------------------
def matched_cells(box_a: Sequence[float],
                  box_b: Sequence[float],
                  size_a: Tuple[int, int],
                  size_b: Tuple[int, int],
                  flip_a: bool = False,
                  flip_b: bool = False,
                  rot90_a: int = 0,
                  rot90_b: int = 0,
                  device=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cells of view ``a``'s feature grid and the cells of ``b`` they fall in.

    A view is ``crop(box) -> resize -> horizontal flip -> np.rot90(k)``
    (data contract, section 2). Uses ``view_correspondence`` of
    ``skysense_mm.datasets.transforms.pretrain_transforms`` (cell centres
    of ``a`` placed in ``b``) and keeps the cells whose centre lies inside
    ``b``'s box, matched with the cell of ``b`` containing it.

    Args:
        box_a, box_b: ``(x1, y1, x2, y2)`` in original HR pixels.
        size_a, size_b: Feature grid ``(h, w)`` of each view (after the
            rotation, i.e. the shape of the feature map).
        flip_a, flip_b (bool): Horizontal flips.
        rot90_a, rot90_b (int): ``k`` of ``np.rot90``.
        device: Device of the returned indices.

    Returns:
        tuple[Tensor, Tensor]: Flat (row-major) indices ``idx_a``, ``idx_b``
        of the matched cells, same length.
    """
    # lazy: models must not import the datasets package at import time
    from skysense_mm.datasets.transforms.pretrain_transforms import \
        view_correspondence
    hb, wb = int(size_b[0]), int(size_b[1])
    coords, valid = view_correspondence(
        np.asarray(box_a, np.float64), bool(flip_a), int(rot90_a),
        np.asarray(box_b, np.float64), bool(flip_b), int(rot90_b),
        tuple(size_a), tuple(size_b))
    rows = coords[..., 0].round().long().clamp(0, hb - 1).flatten()
    cols = coords[..., 1].round().long().clamp(0, wb - 1).flatten()
    valid = valid.flatten()
    idx_a = torch.arange(valid.numel())[valid]
    idx_b = (rows * wb + cols)[valid]
    return idx_a.to(device), idx_b.to(device)


# ----------------------------------------------------------------------
# Eqs. 5-8
# ----------------------------------------------------------------------
def _pixels(feat: torch.Tensor) -> torch.Tensor:
    """``(B, C, h, w)`` -> ``(B, h*w, C)``."""
    if feat.dim() != 4:
        raise ValueError(f'features must be (B, C, h, w), got '
                         f'{tuple(feat.shape)}')
    return feat.flatten(2).transpose(1, 2)


def _check_pairs(student, teacher, pairs):
    if student.shape[0] != teacher.shape[0] or len(pairs) != student.shape[0]:
        raise ValueError('student, teacher and pairs must have the same '
                         f'batch size, got {student.shape[0]}, '
                         f'{teacher.shape[0]}, {len(pairs)}')


def pixel_contrast_loss(student: torch.Tensor, teacher: torch.Tensor,
                        pairs: Sequence[Tuple[torch.Tensor, torch.Tensor]],
                        head: nn.Module, teacher_head: nn.Module,
                        cl_loss: nn.Module) -> torch.Tensor:
    """``L_pix`` (Eq. 5): ``L_CL`` over corresponding pixels of two views.

    Args:
        student (Tensor): Student features ``(B, C, h, w)`` of view ``u``.
        teacher (Tensor): Teacher features ``(B, C, h', w')`` of view ``v``.
        pairs (list[tuple[Tensor, Tensor]]): Per sample, flat indices of
            matched cells in ``u`` and ``v`` (:func:`matched_cells`).
        head, teacher_head (nn.Module): Projection heads to logits.
        cl_loss (nn.Module): ``L_CL`` (e.g. :class:`CLLoss`).

    Returns:
        Tensor: Mean of ``L_CL`` over all matched pixels of the batch.
    """
    _check_pairs(student, teacher, pairs)
    s_pix, t_pix = _pixels(student), _pixels(teacher)
    s_sel = torch.cat([s_pix[b, ia] for b, (ia, _) in enumerate(pairs)])
    t_sel = torch.cat([t_pix[b, ib] for b, (_, ib) in enumerate(pairs)])
    return cl_loss(head(s_sel), teacher_head(t_sel))


def object_contrast_loss(student: torch.Tensor,
                         teacher: torch.Tensor,
                         pairs: Sequence[Tuple[torch.Tensor, torch.Tensor]],
                         head: nn.Module,
                         teacher_head: nn.Module,
                         cl_loss: nn.Module,
                         num_clusters: int = 8,
                         num_rounds: int = 3,
                         epsilon: float = 0.05) -> torch.Tensor:
    """``L_obj`` (Eq. 6): ``L_CL`` between matched object (cluster) features.

    Per sample, the teacher's features at the matched pixels are clustered
    into ``N_C`` objects with Sinkhorn-Knopp (:func:`sinkhorn_cluster`);
    the teacher's object features are the cluster centres and the student's
    are the means of the student features at the same pixels with the same
    (balanced, soft) assignment, so object ``k`` of both views covers the
    same ground. ``N_C`` is capped at the number of matched pixels.

    Args:
        student, teacher, pairs, head, teacher_head, cl_loss: See
            :func:`pixel_contrast_loss`.
        num_clusters (int): ``N_C``. Defaults to 8.
        num_rounds (int): Clustering rounds. Defaults to 3.
        epsilon (float): Sinkhorn regularisation. Defaults to 0.05.

    Returns:
        Tensor: Mean of ``L_CL`` over all objects of the batch.
    """
    _check_pairs(student, teacher, pairs)
    s_pix, t_pix = _pixels(student), _pixels(teacher)
    s_obj, t_obj = [], []
    for b, (ia, ib) in enumerate(pairs):
        if ia.numel() == 0:
            continue
        t_b = t_pix[b, ib].detach()
        k = min(num_clusters, t_b.shape[0])
        centres, assign = sinkhorn_cluster(
            t_b[None], k, num_rounds=num_rounds, epsilon=epsilon)
        weights = assign[0] / assign[0].sum(0, keepdim=True).clamp_min(1e-12)
        s_obj.append(weights.T.to(s_pix.dtype) @ s_pix[b, ia])
        t_obj.append(centres[0])
    if not s_obj:
        return student.sum() * 0
    return cl_loss(head(torch.cat(s_obj)), teacher_head(torch.cat(t_obj)))


def image_contrast_loss(student: torch.Tensor, teacher: torch.Tensor,
                        head: nn.Module, teacher_head: nn.Module,
                        cl_loss: nn.Module) -> torch.Tensor:
    """``L_img`` (Eq. 7): ``L_CL`` between average-pooled features.

    Args:
        student (Tensor): ``(B, C, h, w)`` (or already pooled ``(B, C)``).
        teacher (Tensor): ``(B, C, h', w')`` (or ``(B, C)``).
        head, teacher_head, cl_loss: See :func:`pixel_contrast_loss`.

    Returns:
        Tensor: Scalar loss.
    """
    s = student.mean((2, 3)) if student.dim() == 4 else student
    t = teacher.mean((2, 3)) if teacher.dim() == 4 else teacher
    return cl_loss(head(s), teacher_head(t))


def fgcl_loss(student: torch.Tensor,
              teacher: torch.Tensor,
              pairs: Sequence[Tuple[torch.Tensor, torch.Tensor]],
              head: nn.Module,
              teacher_head: nn.Module,
              cl_losses: Dict[str, nn.Module],
              num_clusters: int = 8,
              sinkhorn_epsilon: float = 0.05) -> Dict[str, torch.Tensor]:
    """``L_FGCL`` (Eq. 8) as its three terms ``pix``, ``obj``, ``img``.

    Args:
        student, teacher, pairs, head, teacher_head: See
            :func:`pixel_contrast_loss`.
        cl_losses (dict): ``L_CL`` module for each of ``pix``, ``obj``,
            ``img`` (separate centres).
        num_clusters (int): ``N_C``. Defaults to 8.
        sinkhorn_epsilon (float): Defaults to 0.05.

    Returns:
        dict[str, Tensor]: ``pix``, ``obj``, ``img``; their sum is
        ``L_FGCL``.
    """
    return dict(
        pix=pixel_contrast_loss(student, teacher, pairs, head, teacher_head,
                                cl_losses['pix']),
        obj=object_contrast_loss(
            student,
            teacher,
            pairs,
            head,
            teacher_head,
            cl_losses['obj'],
            num_clusters=num_clusters,
            epsilon=sinkhorn_epsilon),
        img=image_contrast_loss(student, teacher, head, teacher_head,
                                cl_losses['img']))


def cross_modal_alignment_loss(embeddings: Dict[str, torch.Tensor],
                               temperature: float = 0.07,
                               valid: Optional[Dict[str, torch.Tensor]] = None,
                               rows: Optional[torch.Tensor] = None
                               ) -> torch.Tensor:
    """``L_align`` (Eq. 10): ``sum_{i != j} L_MMCL(F_i, F_j)``.

    ``L_MMCL(F_i, F_j)`` is the InfoNCE of ALBEF's image-text contrastive
    loss (https://arxiv.org/abs/2107.07651) without the momentum queue: the
    L2-normalised image-level embedding of modality ``i`` of sample ``n``
    must pick the embedding of modality ``j`` of the same sample (the same
    geo-location) among those of the batch. Ordered pairs ``(i, j)`` and
    ``(j, i)`` are both counted, as the sum over ``i != j`` says.

    Args:
        embeddings (dict[str, Tensor]): Modality -> ``(B, D)`` projected
            image-level embeddings (same ``D``).
        temperature (float): InfoNCE temperature. Defaults to 0.07.
        valid (dict[str, Tensor], optional): Modality -> ``(B,)`` bool, the
            samples that have the modality; pairs use the samples that have
            both.
        rows (Tensor, optional): ``(B,)`` bool, the samples used as queries
            (all samples stay candidates). Data-parallel training gathers
            the embeddings of all ranks and passes its own samples here, so
            that the mean over ranks is the loss of the whole batch.
            Defaults to None (all).

    Returns:
        Tensor: Scalar loss (0 with fewer than two modalities, fewer than
        two common samples or no query).
    """
    names = sorted(embeddings)
    total = None
    for i in names:
        for j in names:
            if i == j:
                continue
            a, b = embeddings[i], embeddings[j]
            keep = torch.ones(a.shape[0], dtype=torch.bool, device=a.device)
            if valid is not None:
                keep = valid[i].to(a.device) & valid[j].to(a.device)
            query = keep if rows is None else keep & rows.to(a.device)
            a_q, b_k = a[query], b[keep]
            if b_k.shape[0] < 2 or a_q.shape[0] == 0:
                term = embeddings[i].sum() * 0
            else:
                logits = F.normalize(a_q.float(), dim=-1) @ F.normalize(
                    b_k.float(), dim=-1).T / temperature
                # position of each query among the kept candidates
                target = (keep.cumsum(0) - 1)[query]
                term = F.cross_entropy(logits, target)
            total = term if total is None else total + term
    if total is None:
        first = next(iter(embeddings.values()), None)
        return torch.zeros(()) if first is None else first.sum() * 0
    return total


def cosine_momentum(step: int, max_steps: int, base: float = 0.996,
                    final: float = 1.0) -> float:
    """Cosine schedule from ``base`` (step 0) to ``final`` (``max_steps``).

    ``m = final - (final - base) * (cos(pi * step / max_steps) + 1) / 2``,
    as the teacher momentum of DINO / BYOL.

    Args:
        step (int): Current step (0-based).
        max_steps (int): Steps of the schedule (> 0).
        base (float): Momentum at step 0. Defaults to 0.996.
        final (float): Momentum at ``max_steps``. Defaults to 1.0.

    Returns:
        float: The momentum.
    """
    if max_steps <= 0:
        raise ValueError(f'max_steps must be > 0, got {max_steps}')
    frac = min(max(step / max_steps, 0.0), 1.0)
    return final - (final - base) * (math.cos(math.pi * frac) + 1) / 2
