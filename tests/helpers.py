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


GRAPH_SUFFIXES = (".onnx", ".plan", ".engine", ".bin")
"""Files of an artifact folder that `artifact_copy` links rather than copies: the large ones."""


def artifact_copy(source: Path, destination: Path) -> Path:
    """A copy of an artifact folder (or a Triton repository) whose graphs are hard links to the originals.

    The session's export is 180 MB and a dozen tests each want a folder of their own to add or damage files in;
    linking the graphs keeps that from writing gigabytes. Small files are real copies, so a test may rewrite a
    manifest or a config in place. A test that damages a graph must replace the file (`unlink`, then write),
    never write into it: writing into a link would damage the session's export for every later test."""
    import os
    import shutil

    def copy(src: str, dst: str) -> object:
        if src.endswith(GRAPH_SUFFIXES):
            os.link(src, dst)
            return dst
        return shutil.copy2(src, dst)

    shutil.copytree(source, destination, copy_function=copy)
    return destination
