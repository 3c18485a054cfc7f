"""Horizontal strips of a feature map, with `torch.tensor_split` semantics.

MGSA, MSAM and the PCB head all cut an N x C x H x W map into horizontal strips. `tensor_split` gives the first
`H % n` strips one extra row when H is not divisible by n; the sizes are Python ints derived from the static
shape, so exported graphs stay static in H and W (only the batch axis is dynamic).
"""

from __future__ import annotations

import torch


def split_rows(x: torch.Tensor, strips: int) -> tuple[torch.Tensor, ...]:
    """Split `x` (N x C x H x W) into `strips` horizontal strips along H."""
    if strips == 1:
        return (x,)
    return torch.tensor_split(x, strips, dim=2)
