"""vireid_runtime: torch-free loading, parity with export-time ONNX and torch, validation, no silent fallback."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_runtime_imports_and_embeds_with_torch_blocked(demo_export: Path) -> None:
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'torchvision', 'vireid', 'vireid_export'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import numpy as np
from vireid_runtime import load_embedder
embedder = load_embedder({str(demo_export)!r}, 'infrared', backend='ort-cpu', precision='int8')
spec = embedder.input_spec
out = embedder.embed(np.random.default_rng(0).random((3, 3, spec.height, spec.width), dtype=np.float32))
assert out.shape == (3, embedder.output_spec.dim), out.shape
assert not [m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'vireid')]
print('ok')
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "runtime")])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


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


def test_input_validation_names_the_expected_shape(demo_export: Path) -> None:
    embedder = load_embedder(demo_export, "visible")
    h, w = embedder.input_spec.height, embedder.input_spec.width
    good = np.zeros((2, 3, h, w), dtype=np.float32)
    cases = {  # what each error must name besides the expected shape
        "rank 3": good[0],
        "got 1 channels": np.zeros((2, 1, h, w), dtype=np.float32),
        f"got size {h + 8} x {w}": np.zeros((2, 3, h + 8, w), dtype=np.float32),
        "got dtype float64": good.astype(np.float64),
        "got list": good.tolist(),
        "empty batch": good[:0],
    }
    for problem, value in cases.items():
        with pytest.raises(ValueError, match=rf"float32 N x 3 x {h} x {w}") as info:
            embedder.embed(value)  # type: ignore[arg-type]
        assert problem in str(info.value), (problem, str(info.value))


def test_batches_larger_than_the_profile_are_split(demo_export: Path) -> None:
    embedder = load_embedder(demo_export, "visible")
    assert embedder.max_batch == 16
    calls: list[int] = []
    run = embedder._infer
    embedder._infer = lambda chunk: calls.append(len(chunk)) or run(chunk)  # type: ignore[method-assign]
    spec = embedder.input_spec
    batch = np.random.default_rng(0).random((37, 3, spec.height, spec.width), dtype=np.float32)
    out = embedder.embed(batch)
    assert calls == [16, 16, 5] and out.shape == (37, embedder.output_spec.dim)
    np.testing.assert_allclose(out[20], embedder.embed(batch[20:21])[0], atol=1e-5)


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
