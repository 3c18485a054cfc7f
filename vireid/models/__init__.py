"""Models: the two-stream ReID network of the paper and its building blocks."""

from __future__ import annotations

from vireid.config import ModelConfig
from vireid.models.reid import MODALITIES, Modality, ReidBranch, ReidOutput, TwoStreamReID


def build_model(cfg: ModelConfig) -> TwoStreamReID:
    """Build the network for `cfg`, with the backbone initialised as `cfg.pretrained` says."""
    from vireid.models.pretrained import initialise_backbone

    model = TwoStreamReID(cfg)
    initialise_backbone(model)
    return model


__all__ = ["MODALITIES", "Modality", "ModelConfig", "ReidBranch", "ReidOutput", "TwoStreamReID", "build_model"]
