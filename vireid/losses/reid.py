"""The training objective of the hetero-center triplet baseline and the paper, in one place.

Per-part cross-entropy on the part logits, the hetero-center triplet on the whole (concatenated) embedding
weighted by `train.w_triplet`, and the per-part hetero-center triplets weighted by `train.w_center`
(docs/architecture.md, "Losses"). The trainer logs every term and the part-averaged identity accuracy.
"""

from __future__ import annotations

from typing import Any

import torch

from vireid.config import TrainConfig
from vireid.losses.cross_entropy import part_cross_entropy
from vireid.losses.hetero_center import hetero_center_triplet
from vireid.models import ReidOutput


def reid_loss(out: ReidOutput, labels: torch.Tensor, modalities: torch.Tensor, cfg: TrainConfig) -> dict[str, Any]:
    """The loss terms (tensors) and their total under "loss"."""
    ce = part_cross_entropy(out.part_logits, labels, cfg.label_smoothing)
    triplet = hetero_center_triplet(out.part_features.flatten(1), labels, modalities, cfg.margin)
    part_triplet = sum(
        (
            hetero_center_triplet(out.part_features[:, p], labels, modalities, cfg.margin)
            for p in range(out.part_features.shape[1])
        ),
        start=torch.zeros((), device=labels.device),
    )
    total = ce + cfg.w_triplet * triplet + cfg.w_center * part_triplet
    accuracy = (out.part_logits.float().mean(dim=1).argmax(dim=1) == labels).float().mean()
    return {"loss": total, "ce": ce, "triplet": triplet, "part_triplet": part_triplet, "accuracy": accuracy}
