"""Hetero-center triplet loss (Liu et al., "Parameter sharing exploration and hetero-center triplet loss for
visible-thermal person re-identification", TMM 2020), written to be independent of batch order.

One centre per (identity, modality) present in the batch. For each centre, the positive is the centre of the
same identity in the other modality and the hardest negative is the nearest centre of any other identity (in
either modality). Loss = mean over centres of relu(d_ap - d_an + margin), with Euclidean distances. The
original code found centres by chunking the batch in sampler order; grouping by (label, modality) instead
gives the same value for any permutation of the batch.
"""

from __future__ import annotations

import torch


def hetero_center_triplet(
    features: torch.Tensor, labels: torch.Tensor, modalities: torch.Tensor, margin: float = 0.3
) -> torch.Tensor:
    """features N x D, labels N (identity), modalities N (0 = visible, 1 = infrared) -> scalar loss.

    Centres without a cross-modal positive or without any negative contribute nothing; if no centre
    qualifies the loss is zero (still attached to the graph).
    """
    features = features.float()
    keys = labels.long() * 2 + modalities.long()
    unique_keys, group = torch.unique(keys, return_inverse=True)
    counts = torch.bincount(group, minlength=len(unique_keys)).to(features.dtype)
    sums = features.new_zeros(len(unique_keys), features.shape[1]).index_add(0, group, features)
    centres = sums / counts.unsqueeze(1)

    norms = centres.pow(2).sum(dim=1)
    squared = norms.unsqueeze(0) + norms.unsqueeze(1) - 2.0 * centres @ centres.t()
    # sqrt of a clamped square, as the baseline: keeps the gradient finite at zero distance.
    distances = squared.clamp(min=1e-12).sqrt()
    centre_labels = unique_keys // 2
    centre_modalities = unique_keys % 2
    same_identity = centre_labels.unsqueeze(0) == centre_labels.unsqueeze(1)
    other_modality = centre_modalities.unsqueeze(0) != centre_modalities.unsqueeze(1)
    positive = same_identity & other_modality
    negative = ~same_identity

    inf = torch.finfo(distances.dtype).max
    hardest_positive = distances.masked_fill(~positive, -inf).amax(dim=1)
    hardest_negative = distances.masked_fill(~negative, inf).amin(dim=1)
    valid = positive.any(dim=1) & negative.any(dim=1)
    if not bool(valid.any()):
        return features.sum() * 0.0
    return torch.relu(hardest_positive - hardest_negative + margin)[valid].mean()
