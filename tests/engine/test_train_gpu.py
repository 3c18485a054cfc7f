"""The CUDA paths of training and of the torch bench backend (run on a GPU machine; skipped elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.engine.test_train import TINY_TRAIN
from vireid.bench.torch_backend import TorchEmbedder
from vireid.config import load_run_config, replace
from vireid.engine.trainer import train
from vireid.io.rundir import load_run


@pytest.mark.gpu
def test_cuda_training_with_amp_and_channels_last(tmp_path: Path, synthetic_sysu: Path) -> None:
    overrides = (*TINY_TRAIN, "train.epochs=2", "train.device='cuda'", "train.amp=true", "train.channels_last=true")
    config = load_run_config(overrides=overrides)
    config = replace(config, data=replace(config.data, root=str(synthetic_sysu), workers=2))
    result = train(config, tmp_path / "run", show_progress=False)
    assert result.epochs == 2
    weights = load_file(tmp_path / "run" / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())
    epochs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in epochs if r["event"] == "epoch"] == [1, 2]
    assert all(np.isfinite(r["loss"]) for r in epochs if r["event"] == "epoch")


@pytest.mark.gpu
def test_torch_backend_on_cuda_matches_cpu_and_times_with_events(tmp_path: Path, synthetic_sysu: Path) -> None:
    config = load_run_config(overrides=(*TINY_TRAIN, "train.epochs=1", "data.workers=0"))
    config = replace(config, data=replace(config.data, root=str(synthetic_sysu)))
    train(config, tmp_path / "run", show_progress=False)
    _, model = load_run(tmp_path / "run")
    batch = np.random.default_rng(0).random((4, 3, config.model.height, config.model.width), dtype=np.float32)
    cpu = TorchEmbedder(model, "visible", tmp_path / "run", "cpu").embed(batch)
    cuda = TorchEmbedder(model, "visible", tmp_path / "run", "cuda")
    np.testing.assert_allclose(cuda.embed(batch), cpu, atol=2e-3)
    times = cuda.time_compute(batch, warmup=2, runs=5)
    assert len(times) == 5 and all(t > 0 for t in times)
