"""Identity loss: one cross-entropy per PCB part, summed over parts (optional label smoothing)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def part_cross_entropy(part_logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Sum over parts of the mean cross-entropy; `part_logits` is N x parts x classes."""
    return sum(
        (
            F.cross_entropy(part_logits[:, part].float(), labels, label_smoothing=label_smoothing)
            for part in range(part_logits.shape[1])
        ),
        start=part_logits.new_zeros((), dtype=torch.float32),
    )
