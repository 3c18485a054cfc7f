"""MGSA: multi-granularity spatial attention (docs/architecture.md, "The paper", 3.2, equation 1).

On an input F that channel attention has already weighted:
    A_g = sigmoid(conv7([avg_c F; max_c F]))                    global, one map for the whole image
    A_l = concat_i sigmoid(conv7'([avg_c F_i; max_c F_i]))      local, F cut into I1 horizontal strips,
                                                                one conv7' shared by the strips
    A   = sigmoid(A_g + A_l);  output A * F
With I1 = 1 there is no local branch and MGSA is exactly CBAM's spatial attention, as the paper states; the
global convolution is named like `SpatialAttention.conv`, so a CBAM spatial state_dict loads into MGSA(1).
"""

from __future__ import annotations

import torch
from torch import nn

from vireid.models.layers.cbam import gate, pooled_channels
from vireid.models.layers.strips import split_rows


class MultiGranularitySpatialAttention(nn.Module):
    def __init__(self, strips: int = 4, kernel_size: int = 7) -> None:
        super().__init__()
        self.strips = strips
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.local_conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False) if strips > 1 else None

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        global_map = torch.sigmoid(self.conv(pooled_channels(x)).float())
        if self.local_conv is None:
            return global_map.to(x.dtype)
        # Each strip is pooled and convolved on its own, so the 7x7 kernel never looks across a strip border.
        local_map = torch.cat(
            [torch.sigmoid(self.local_conv(pooled_channels(strip)).float()) for strip in split_rows(x, self.strips)],
            dim=2,
        )
        # The pre-sigmoid sum stays float32 (fp16 export keeps it so).
        return gate(global_map + local_map, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)

    def extra_repr(self) -> str:
        return f"strips={self.strips}"
