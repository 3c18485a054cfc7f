"""CBAM (Woo et al., ECCV 2018): channel attention, then spatial attention.

The infrared branch of every attention variant uses plain CBAM (docs/architecture.md, "The paper", 3.3).
Sigmoid inputs are computed in float32 whatever the module's dtype: the fp16 export keeps the attention gates'
pre-sigmoid sums in fp32 (docs/architecture.md, "Precisions"), and for an fp32 model the casts are no-ops.
"""

from __future__ import annotations

import torch
from torch import nn


def gate(logits: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """sigmoid(logits) computed in float32, returned in the dtype of `like`."""
    return torch.sigmoid(logits.float()).to(like.dtype)


class ChannelAttention(nn.Module):
    """Squeeze spatially (average and max), a shared bottleneck MLP, sum, sigmoid; reweight channels."""

    def __init__(self, channels: int, rd_ratio: float = 1 / 16) -> None:
        super().__init__()
        hidden = max(1, int(channels * rd_ratio))
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)

    def attention_logits(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.fc2(self.act(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        peak = self.fc2(self.act(self.fc1(x.amax(dim=(2, 3), keepdim=True))))
        return avg.float() + peak.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * gate(self.attention_logits(x), x)


def pooled_channels(x: torch.Tensor) -> torch.Tensor:
    """The two-channel spatial descriptor of CBAM: channel-wise mean and max."""
    return torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)


class SpatialAttention(nn.Module):
    """Channel-wise mean and max maps, a 7x7 convolution, sigmoid; reweight positions."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        return gate(self.conv(pooled_channels(x)), x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


class CBAM(nn.Module):
    """Channel attention followed by a spatial attention module (plain, or MGSA for the `mgsa` variant)."""

    def __init__(self, channels: int, spatial: nn.Module | None = None, rd_ratio: float = 1 / 16) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, rd_ratio)
        self.spatial = spatial if spatial is not None else SpatialAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))
