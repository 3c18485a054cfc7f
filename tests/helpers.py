"""Tiny configurations shared by the tests."""

from __future__ import annotations

from vireid.config import ModelConfig

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
