"""Tiny configurations shared by the tests."""

from __future__ import annotations

from pathlib import Path

from vireid.config import DataConfig, ModelConfig, RunConfig

TINY_HEIGHT, TINY_WIDTH = 96, 48


def tiny_model_config(**changes: object) -> ModelConfig:
    """resnet18 at 96x48 with 10 classes: a forward pass takes milliseconds."""
    values: dict[str, object] = {
        "backbone": "resnet18",
        "attention": "mgsa+msam",
        "height": TINY_HEIGHT,
        "width": TINY_WIDTH,
        "num_classes": 10,
    }
    values.update(changes)
    return ModelConfig(**values)  # type: ignore[arg-type]


def randomised_run(root: Path, data_root: Path, **model_changes: object) -> Path:
    """A run directory with random weights and non-trivial BatchNorm statistics."""
    import torch

    from vireid.io.rundir import save_run
    from vireid.models import build_model

    torch.manual_seed(0)
    config = RunConfig(model=tiny_model_config(**model_changes), data=DataConfig(root=str(data_root)))
    model = build_model(config.model)
    randomise_batchnorm(model)
    save_run(root, config, model)
    return root


def randomise_batchnorm(model: object) -> None:
    """Non-trivial BatchNorm running statistics (fresh ones are 0 / 1, which hides folding mistakes)."""
    import torch

    with torch.no_grad():
        for module in model.modules():  # type: ignore[attr-defined]
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
