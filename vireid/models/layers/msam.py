"""MSAM: modality-specific dual attention, visible branch (docs/architecture.md, "The paper", 3.3, equation 2).

The visible map F is cut into I2 horizontal strips; strip i is reweighted by its own channel attention
(multi-branch, so no single salient region dominates every channel), the strips are joined back, and one
spatial attention (plain, or MGSA for the `mgsa+msam` variant) reweights the whole map. With I2 = 1 this is
exactly CBAM. The infrared branch uses plain CBAM (coarse granularity), built by the model, not here.
"""

from __future__ import annotations

import torch
from torch import nn

from vireid.models.layers.cbam import ChannelAttention, SpatialAttention
from vireid.models.layers.strips import split_rows


class ModalitySpecificAttention(nn.Module):
    def __init__(
        self, channels: int, strips: int = 2, spatial: nn.Module | None = None, rd_ratio: float = 1 / 16
    ) -> None:
        super().__init__()
        self.strips = strips
        self.channels = nn.ModuleList(ChannelAttention(channels, rd_ratio) for _ in range(strips))
        self.spatial = spatial if spatial is not None else SpatialAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weighted = [attend(strip) for attend, strip in zip(self.channels, split_rows(x, self.strips), strict=True)]
        return self.spatial(torch.cat(weighted, dim=2))

    def extra_repr(self) -> str:
        return f"strips={self.strips}"
