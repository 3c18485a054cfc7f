"""GeM: generalised-mean pooling, `(mean(x^p) + 1e-12)^(1/p)`, as in the hetero-center triplet baseline.

It always computes in float32: x^p with p = 3 (SYSU) or 10 (RegDB) overflows float16 long before the mean
brings it back, so the fp16 export keeps this op in fp32 (docs/architecture.md, "Precisions"). Inputs are
post-ReLU, >= 0.
"""

from __future__ import annotations

import torch
from torch import nn


class GeM(nn.Module):
    def __init__(self, p: float = 3.0, eps: float = 1e-12) -> None:
        super().__init__()
        self.p = float(p)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x C x H x W -> N x C x 1 x 1 (float32)."""
        pooled = x.float().pow(self.p).mean(dim=(2, 3), keepdim=True)
        return (pooled + self.eps).pow(1.0 / self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
