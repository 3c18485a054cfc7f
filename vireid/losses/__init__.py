"""Losses of the hetero-center triplet baseline: per-part cross-entropy, the hetero-center triplet, and the
objective that combines them (`reid.reid_loss`, imported from its module: it needs the config and the model)."""

from vireid.losses.cross_entropy import part_cross_entropy
from vireid.losses.hetero_center import hetero_center_triplet

__all__ = ["hetero_center_triplet", "part_cross_entropy"]
