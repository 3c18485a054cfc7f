"""Validation during training, for model selection: the held-out (or test) split through both branches."""

from __future__ import annotations

import torch

from vireid.config import RunConfig
from vireid.engine.splits import TrainingSplit
from vireid.eval.extract import torch_embedder
from vireid.eval.protocols import ExtractOptions, embed_samples, score
from vireid.models import TwoStreamReID


def validation_metrics(
    model: TwoStreamReID, split: TrainingSplit, config: RunConfig, device: torch.device, show_progress: bool
) -> dict[str, float]:
    model.eval()
    visible = torch_embedder(model.branch("visible"), device)
    infrared = torch_embedder(model.branch("infrared"), device)
    options = ExtractOptions(config.model.height, config.model.width, workers=0, show_progress=show_progress)
    query = embed_samples(split.val_query, visible, infrared, options, "validation query")
    gallery = embed_samples(split.val_gallery, visible, infrared, options, "validation gallery")
    summary = score(query, gallery, split.val_query, split.val_gallery, split.protocol).summary()
    return {key: float(value) for key, value in summary.items()}
