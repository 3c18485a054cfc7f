"""vireid_runtime on ONNX Runtime: parity with export-time ONNX and torch, no silent fallback, clear errors.

The interface every backend shares (validation, batching, closing, torch-free loading) is test_conformance.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from vireid.data.images import load_image
from vireid.data.sysu import SYSUMM01
from vireid.data.transforms import eval_transform
from vireid.io.rundir import load_run
from vireid_export.precisions import BARS
from vireid_runtime import BackendUnavailable, load_embedder
from vireid_runtime.errors import ArtifactError
from vireid_runtime.parity import cosine_rows

ROOT = Path(__file__).resolve().parents[2]


def _images(data: Path, modality: str, count: int) -> list[Image.Image]:
    sysu = SYSUMM01(data)
    samples = sysu.query("all") if modality == "infrared" else sysu.gallery("all", 0, 10)
    return [load_image(s.path, s.modality) for s in samples[:count]]  # type: ignore[arg-type]


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_runtime_equals_export_time_onnx(demo_export: Path, synthetic_sysu: Path, precision: str) -> None:
    for modality in ("visible", "infrared"):
        embedder = load_embedder(demo_export, modality, backend="ort-cpu", precision=precision)
        batch = embedder.preprocess(_images(synthetic_sysu, modality, 6))
        session = ort.InferenceSession(os.fspath(embedder.path), providers=["CPUExecutionProvider"])
        np.testing.assert_array_equal(embedder.embed(batch), session.run(None, {"images": batch})[0])


def test_runtime_matches_torch_within_the_fp32_bar(demo_export: Path, demo_run: Path, synthetic_sysu: Path) -> None:
    config, model = load_run(demo_run)
    transform = eval_transform(config.model.height, config.model.width)
    for modality in ("visible", "infrared"):
        images = _images(synthetic_sysu, modality, 8)
        embedder = load_embedder(demo_export, modality, backend="ort-cpu", precision="fp32")
        batch = embedder.preprocess(images)
        # runtime preprocessing (PIL + numpy) equals the training-time eval transform (torchvision), bit for bit
        np.testing.assert_array_equal(batch, torch.stack([transform(image) for image in images]).numpy())
        with torch.no_grad():
            expected = model.branch(modality)(torch.from_numpy(batch)).numpy()  # type: ignore[arg-type]
        assert cosine_rows(expected, embedder.embed(batch)).min() >= BARS["fp32"].cos_min


def test_ort_cuda_on_a_cpu_machine_fails_instead_of_running_on_cpu(demo_export: Path) -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers() and torch.cuda.is_available():
        pytest.skip("a GPU is present here")
    with pytest.raises(BackendUnavailable, match=r"^ort-cuda: .*(no usable GPU|refusing to run on the CPU|no CUDA)"):
        load_embedder(demo_export, "visible", backend="ort-cuda")


def test_missing_precision_or_broken_files_are_clear_errors(demo_export: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"no fp16 plan.*--engine trt --precision fp16"):
        load_embedder(demo_export, "visible", backend="trt", precision="fp16")
    with pytest.raises(ArtifactError, match="does not exist"):
        load_embedder(tmp_path / "nowhere", "visible")
    with pytest.raises(ValueError, match="modality"):
        load_embedder(demo_export, "thermal")
