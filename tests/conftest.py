"""Shared fixtures and the gpu / trt skips.

Tests use tiny configs (resnet18, small inputs, few ids) except those marked `slow`, which exercise the full
resnet50 288x144 model the paper uses.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


def _has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_gpu = _has_cuda()
    has_trt = importlib.util.find_spec("tensorrt") is not None and has_gpu
    for item in items:
        # get_closest_marker, not `in item.keywords`: parametrize ids also land in keywords.
        if item.get_closest_marker("gpu") and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="needs an NVIDIA GPU with CUDA"))
        if item.get_closest_marker("trt") and not has_trt:
            item.add_marker(pytest.mark.skip(reason="needs TensorRT and an NVIDIA GPU"))


# --- shared, session-scoped artefacts: generated once, reused by the data, train, export, runtime and bench tests.

DEMO_TEST_OVERRIDES = (
    "train.epochs=4",
    "train.batches_per_epoch=8",
    "train.eval_every=2",
    "train.val_ids=4",
    "train.warmup_epochs=1",
    "train.milestones=[3]",
    "train.ids_per_batch=6",
    "data.workers=0",
)
"""The demo preset, shortened so that the suite stays within its time budget on 2 cores."""


@pytest.fixture(scope="session")
def synthetic_sysu(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A small generated SYSU-MM01 tree (16 identities)."""
    from vireid.data.synthetic import generate

    root = tmp_path_factory.mktemp("data") / "sysu"
    generate("sysu", root, ids=16, seed=0, images_per_camera=5, workers=2)
    return root


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, synthetic_sysu):  # type: ignore[no-untyped-def]
    """The demo preset trained briefly on `synthetic_sysu` (a real, learning run directory)."""
    from vireid.config import load_run_config, replace
    from vireid.engine.trainer import train

    config = load_run_config("demo", overrides=DEMO_TEST_OVERRIDES)
    config = replace(config, data=replace(config.data, root=str(synthetic_sysu)))
    out = tmp_path_factory.mktemp("runs") / "demo"
    train(config, out, show_progress=False)
    return out


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory, demo_run):  # type: ignore[no-untyped-def]
    """fp32 + fp16 + int8 ONNX export of `demo_run`."""
    from vireid_export.pipeline import ExportOptions, export_run

    out = tmp_path_factory.mktemp("artifacts") / "demo"
    options = ExportOptions(precisions=("fp32", "fp16", "int8"), batches=(1, 4, 16), calib_count=24, parity_count=16)
    export_run(demo_run, out, options, log=lambda _message: None)
    return out
