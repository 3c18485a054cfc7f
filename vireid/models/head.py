"""PCB head with GeM pooling (the hetero-center triplet baseline; docs/architecture.md, "The paper", 3.1).

The layer4 map is cut into `parts` horizontal strips; each strip is GeM-pooled, reduced by its own 1x1 conv +
BN + ReLU to `part_dim`, and classified by its own linear layer. The embedding is the L2-normalised
concatenation of the part features, computed in float32.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from vireid.models.layers import GeM, split_rows


def _reduction(in_channels: int, part_dim: int) -> nn.Sequential:
    conv = nn.Conv2d(in_channels, part_dim, 1, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    bn = nn.BatchNorm2d(part_dim)
    return nn.Sequential(conv, bn, nn.ReLU(inplace=True))


def _classifier(part_dim: int, num_classes: int) -> nn.Linear:
    fc = nn.Linear(part_dim, num_classes)
    nn.init.normal_(fc.weight, std=0.001)
    nn.init.zeros_(fc.bias)
    return fc


class PCBHead(nn.Module):
    def __init__(self, in_channels: int, parts: int, part_dim: int, gem_p: float, num_classes: int) -> None:
        super().__init__()
        self.parts = parts
        self.pool = GeM(gem_p)
        self.reductions = nn.ModuleList(_reduction(in_channels, part_dim) for _ in range(parts))
        self.classifiers = nn.ModuleList(_classifier(part_dim, num_classes) for _ in range(parts))

    def part_features(self, x: torch.Tensor) -> torch.Tensor:
        """N x C x H x W -> N x parts x part_dim (before normalisation)."""
        features = [
            reduce(self.pool(strip).to(strip.dtype)).flatten(1)
            for reduce, strip in zip(self.reductions, split_rows(x, self.parts), strict=True)
        ]
        # A mixed-precision export may keep one reduction in float32 (docs/architecture.md, "Precisions"): stack
        # in the widest dtype, with explicit casts, so the exported Concat is well typed and nothing is narrowed.
        dtype = functools.reduce(torch.promote_types, (f.dtype for f in features))
        return torch.stack([f.to(dtype) for f in features], dim=1)

    def part_logits(self, part_features: torch.Tensor) -> torch.Tensor:
        """N x parts x part_dim -> N x parts x num_classes."""
        return torch.stack([fc(part_features[:, i]) for i, fc in enumerate(self.classifiers)], dim=1)


def embed(part_features: torch.Tensor) -> torch.Tensor:
    """The retrieval embedding: concatenated parts, L2-normalised in float32."""
    return F.normalize(part_features.flatten(1).float(), dim=1)
