"""Losses of the hetero-center triplet baseline: per-part cross-entropy and the hetero-center triplet."""

from vireid.losses.cross_entropy import part_cross_entropy
from vireid.losses.hetero_center import hetero_center_triplet

__all__ = ["hetero_center_triplet", "part_cross_entropy"]
