"""Sinkhorn-Knopp assignment and clustering used by SkySense.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115) uses the
Sinkhorn-Knopp algorithm of SwAV (Caron et al., NeurIPS 2020) twice: to
assign fused pixel features to the geo-context prototypes of their region
(Eq. 11-13) and to cluster the pixel features of one image into object-level
features (Eq. 6). Both call :func:`sinkhorn_knopp`; the clustering loop is
:func:`sinkhorn_cluster`.
"""
import math
from typing import Tuple

import torch
import torch.nn.functional as F

__all__ = ['sinkhorn_knopp', 'sinkhorn_cluster']


@torch.no_grad()
def sinkhorn_knopp(scores: torch.Tensor,
                   epsilon: float = 0.05,
                   num_iters: int = 3) -> torch.Tensor:
    """Balanced soft assignment of N items to K slots (SwAV, Alg. 1).

    Finds the transport plan ``Q`` close to ``exp(scores / epsilon)`` whose
    rows (items) each carry mass ``1/N`` and whose columns (slots) each carry
    mass ``1/K`` (the uniform constraint that prevents all items from
    collapsing onto one prototype), by alternate normalisation in the log
    domain (stable for any score range), slots first as in SwAV. Computed in
    float32 without gradient.

    Args:
        scores (Tensor): Similarities of shape ``(..., N, K)``; leading
            dimensions are independent problems.
        epsilon (float): Entropic regularisation; smaller is harder.
            Defaults to 0.05 (SwAV).
        num_iters (int): Normalisation rounds. Defaults to 3 (SwAV).

    Returns:
        Tensor: Assignment ``S`` of shape ``(..., N, K)`` in float32; each row
        sums to 1 (the item's distribution over the K slots) and, at
        convergence, each column sums to ``N / K``.
    """
    if scores.dim() < 2:
        raise ValueError('sinkhorn_knopp: scores must have shape (..., N, K), '
                         f'got {tuple(scores.shape)}')
    if epsilon <= 0:
        raise ValueError(f'sinkhorn_knopp: epsilon must be > 0, got {epsilon}')
    if num_iters < 1:
        raise ValueError(
            f'sinkhorn_knopp: num_iters must be >= 1, got {num_iters}')
    n, k = scores.shape[-2:]
    log_q = scores.float() / epsilon
    for _ in range(num_iters):
        log_q = log_q - torch.logsumexp(log_q, -2, keepdim=True) - math.log(k)
        log_q = log_q - torch.logsumexp(log_q, -1, keepdim=True) - math.log(n)
    return (log_q + math.log(n)).exp()


@torch.no_grad()
def sinkhorn_cluster(features: torch.Tensor,
                     num_clusters: int,
                     num_rounds: int = 3,
                     epsilon: float = 0.05,
                     num_iters: int = 3) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cluster the pixel features of each image with balanced assignments.

    The object-level features of SkySense (Eq. 6): centres start at evenly
    spaced pixels of the (row-major) pixel order, then ``num_rounds`` times:
    cosine similarities pixel-centre, :func:`sinkhorn_knopp` assignment
    ``S``, centres = assignment-weighted mean of the pixel features
    (``S`` normalised per cluster, so a centre lives in feature space).
    Deterministic, no gradient.

    Args:
        features (Tensor): Pixel features ``(B, N, C)``.
        num_clusters (int): ``N_C``, clusters per image (1 <= N_C <= N).
        num_rounds (int): Assignment / update rounds. Defaults to 3.
        epsilon (float): See :func:`sinkhorn_knopp`. Defaults to 0.05.
        num_iters (int): See :func:`sinkhorn_knopp`. Defaults to 3.

    Returns:
        tuple[Tensor, Tensor]: centres ``(B, N_C, C)`` in the dtype of
        ``features`` and assignments ``(B, N, N_C)`` (rows sum to 1).
    """
    if features.dim() != 3:
        raise ValueError('sinkhorn_cluster: features must be (B, N, C), got '
                         f'{tuple(features.shape)}')
    b, n, _ = features.shape
    if not 1 <= num_clusters <= n:
        raise ValueError(f'sinkhorn_cluster: num_clusters must be in 1..{n} '
                         f'(the number of pixels), got {num_clusters}')
    if num_rounds < 1:
        raise ValueError(
            f'sinkhorn_cluster: num_rounds must be >= 1, got {num_rounds}')
    feats = features.float()
    index = torch.linspace(0, n - 1, num_clusters, device=feats.device)
    centres = feats[:, index.round().long()]
    for _ in range(num_rounds):
        sim = F.normalize(feats, dim=-1) @ F.normalize(centres, dim=-1).mT
        assign = sinkhorn_knopp(sim, epsilon, num_iters)
        mass = assign.sum(1, keepdim=True).clamp_min(1e-12)
        centres = (assign / mass).mT @ feats
    return centres.to(features.dtype), assign
