"""A weight-sharing (Siamese) wrapper that turns any encoder into a
bi-temporal change-detection backbone.

SkySense (CVPR 2024, https://arxiv.org/abs/2312.10115) evaluates change
detection "following the frameworks of" RingMo / DINO-MC (§4): one encoder
with shared weights embeds both dates and the multi-scale features are
fused before a dense head. The input is packed the mmseg / open-cd way:
``(B, 2C, H, W)`` with date A in the first C channels (mmseg
``ConcatCDInput``).

Fusion (``fusion``):

- ``'abs_diff'`` (default): ``|f_A - f_B|`` per level, channels unchanged.
  This is what the OSCD framework the paper follows (SeCo's
  ``SegmentationEncoder(diff=True)`` used by DINO-MC) does; it is
  symmetric in the two dates and keeps the head's ``in_channels`` equal to
  the encoder's, so the segmentation UperNet configs carry over.
- ``'concat'``: ``[f_A, f_B]`` per level, channels doubled (FC-Siam-conc);
  keeps the temporal order, the head must take ``2 x`` channels.
"""
from typing import Tuple

import torch
from mmengine.model import BaseModule

from skysense_mm.registry import MODELS

__all__ = ['SiameseBackbone']

_FUSIONS = ('abs_diff', 'concat')


@MODELS.register_module()
class SiameseBackbone(BaseModule):
    """Run one encoder on both dates of a channel-stacked pair and fuse.

    Args:
        backbone (dict): Config of the shared encoder (e.g.
            ``skysense_mm.SkySenseSwinV2`` for HR pairs or
            ``skysense_mm.SkySense`` with an S2 encoder for OSCD).
        in_channels (int): Channels of one date; the input must have
            ``2 * in_channels``.
        fusion (str): ``'abs_diff'`` or ``'concat'``. Defaults to
            ``'abs_diff'``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 in_channels: int,
                 fusion: str = 'abs_diff',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if fusion not in _FUSIONS:
            raise ValueError(f'fusion must be one of {_FUSIONS}, got '
                             f'{fusion!r}')
        self.encoder = MODELS.build(backbone)
        self.in_channels = in_channels
        self.fusion = fusion

    def split(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Split ``(B, 2C, H, W)`` into the two dates.

        Args:
            x (Tensor): The packed pair.

        Returns:
            tuple[Tensor, Tensor]: Date A and date B, ``(B, C, H, W)``.
        """
        if x.dim() != 4 or x.size(1) != 2 * self.in_channels:
            raise ValueError(
                f'SiameseBackbone expects (B, {2 * self.in_channels}, H, W) '
                f'(two dates of {self.in_channels} channels stacked), got '
                f'{tuple(x.shape)}')
        return x[:, :self.in_channels], x[:, self.in_channels:]

    def fuse(self, feat_a: torch.Tensor,
             feat_b: torch.Tensor) -> torch.Tensor:
        """Fuse one level of the two dates' features.

        Args:
            feat_a (Tensor): Date A features.
            feat_b (Tensor): Date B features.

        Returns:
            Tensor: ``|a - b|`` or ``cat([a, b], 1)``.
        """
        if self.fusion == 'abs_diff':
            return (feat_a - feat_b).abs()
        return torch.cat([feat_a, feat_b], dim=1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Encode both dates in one batch (shared weights) and fuse.

        Args:
            x (Tensor): ``(B, 2C, H, W)``.

        Returns:
            tuple[Tensor]: Fused maps, one per encoder output level.
        """
        img_a, img_b = self.split(x)
        feats = self.encoder(torch.cat([img_a, img_b], dim=0))
        if isinstance(feats, torch.Tensor):
            feats = (feats, )
        batch = x.size(0)
        return tuple(self.fuse(f[:batch], f[batch:]) for f in feats)
