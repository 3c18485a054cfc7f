"""The ONNX Runtime backends, on a tiny hand-made graph: provider lists and session options as the ONNX Runtime
and TensorRT documentation want them, placement refusals in one line, device-bound compute timing, and a clear
error after close. What needs a GPU is in the `gpu` tests at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from vireid_runtime.backends import onnxruntime as backend
from vireid_runtime.backends.onnxruntime import (
    NO_CPU_FALLBACK,
    OrtEmbedder,
    nodes_by_provider,
    placement,
    placement_refusal,
    providers,
    session_options,
)
from vireid_runtime.errors import BackendUnavailable
from vireid_runtime.manifest import Artifact, BatchRange, InputSpec, OutputSpec

INPUT, OUTPUT, BATCH = InputSpec(height=8, width=4), OutputSpec(dim=96), BatchRange(min=1, opt=2, max=4)
NODES = ["centre", "magnitude", "flatten"]


@pytest.fixture(scope="module")
def tiny_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """images N x 3 x 8 x 4 -> |images - 0.5| flattened to N x 96, in three named nodes no optimiser fuses."""
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 8, 4])
    embedding = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 96])
    nodes = [
        helper.make_node("Sub", ["images", "half"], ["centred"], name="centre"),
        helper.make_node("Abs", ["centred"], ["distance"], name="magnitude"),
        helper.make_node("Flatten", ["distance"], ["embedding"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [images], [embedding], [numpy_helper.from_array(np.array(0.5, np.float32), "half")]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    path = tmp_path_factory.mktemp("graph") / "visible.onnx"
    onnx.save(model, path)
    return path


def _artifact(path: Path) -> Artifact:
    return Artifact("visible", "fp32", "onnx", path.name, "ab" * 32, path.stat().st_size)


def test_ort_trt_registers_tensorrt_then_cuda_and_leaves_precision_to_the_graph(tmp_path: Path) -> None:
    listed = providers("ort-trt", INPUT, BATCH, tmp_path / "cache", device=2)
    assert [name for name, _ in listed] == ["TensorrtExecutionProvider", "CUDAExecutionProvider"]
    trt_options = listed[0][1]
    assert not {"trt_fp16_enable", "trt_int8_enable"} & set(trt_options)  # a strongly typed network
    assert trt_options["trt_engine_cache_path"] == str(tmp_path / "cache")
    assert trt_options["trt_profile_max_shapes"] == "images:4x3x8x4"
    assert all(options["device_id"] == 2 for _, options in listed)
    assert [name for name, _ in providers("ort-cuda", INPUT, BATCH, tmp_path, device=1)] == ["CUDAExecutionProvider"]
    assert providers("ort-cpu", INPUT, BATCH, tmp_path) == [("CPUExecutionProvider", {})]


def _fallback_entry(options: Any) -> str:
    try:
        return str(options.get_session_config_entry(NO_CPU_FALLBACK))
    except RuntimeError:  # onnxruntime raises for a key never set
        return ""


def test_gpu_sessions_refuse_the_cpu_fallback() -> None:
    for name in ("ort-cuda", "ort-trt"):
        assert _fallback_entry(session_options(name)) == "1"
        assert _fallback_entry(session_options(name, cpu_fallback=True)) == ""
    assert _fallback_entry(session_options("ort-cpu")) == ""


def test_the_engine_cache_defaults_to_the_user_cache_not_the_artifact_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VIREID_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert backend.default_cache_dir("ort-trt") == tmp_path / "xdg" / "vireid" / "ort-trt"
    monkeypatch.setenv("VIREID_CACHE", str(tmp_path / "mine"))
    assert backend.default_cache_dir("ort-trt") == tmp_path / "mine" / "ort-trt"


def test_placement_names_the_nodes_that_would_run_on_the_cpu(tiny_graph: Path) -> None:
    batch = np.zeros((1, 3, 8, 4), dtype=np.float32)
    started, on_cpu = placement(tiny_graph, "ort-cpu", [("CPUExecutionProvider", {})], batch)
    assert started == ["CPUExecutionProvider"] and on_cpu == NODES
    line = placement_refusal("ort-cuda", "visible.onnx", ["CUDAExecutionProvider", "CPUExecutionProvider"], on_cpu)
    assert "3 nodes of visible.onnx would run on the CPU (centre, magnitude, flatten)" in line and "\n" not in line
    many = [f"node{i}" for i in range(9)]
    assert "node5 and 3 more" in placement_refusal("ort-trt", "f", ["TensorrtExecutionProvider"], many)
    missing = placement_refusal("ort-trt", "visible.onnx", ["CUDAExecutionProvider", "CPUExecutionProvider"], [])
    assert missing.startswith("ort-trt: ONNX Runtime could not start TensorrtExecutionProvider here (no usable")
    told = placement_refusal("ort-cuda", "visible.onnx", ["CPUExecutionProvider"], [], "no NVIDIA driver is loaded")
    assert "could not start CUDAExecutionProvider here (no NVIDIA driver is loaded); refusing" in told


def test_nodes_by_provider_reads_a_profile(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(
        '[{"cat": "Session", "name": "model_run"},'
        ' {"cat": "Node", "name": "conv_kernel_time", "args": {"provider": "CUDAExecutionProvider"}},'
        ' {"cat": "Node", "name": "shape_kernel_time", "args": {"provider": "CPUExecutionProvider"}},'
        ' {"cat": "Node", "name": "conv_fence_before", "args": {}}]'
    )
    assert nodes_by_provider(profile) == {"CUDAExecutionProvider": ["conv"], "CPUExecutionProvider": ["shape"]}


def test_a_gpu_backend_without_a_usable_gpu_is_one_line(tiny_graph: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this onnxruntime build has no CUDA provider to fail")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    for name in ("ort-cuda", "ort-trt"):
        with pytest.raises(BackendUnavailable) as info:
            OrtEmbedder(_artifact(tiny_graph), tiny_graph, INPUT, OUTPUT, BATCH, name, cache_dir=tiny_graph.parent)
        assert "refusing to run on the CPU" in str(info.value) and "\n" not in str(info.value)


class CountingSession:
    """Forwards to a real session, counting plain `run` calls (compute timing must not use them)."""

    def __init__(self, session: Any) -> None:
        self._session, self.plain_runs = session, 0

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.plain_runs += 1
        return self._session.run(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def test_compute_timing_runs_on_bound_buffers_and_a_closed_embedder_says_so(tiny_graph: Path) -> None:
    embedder = OrtEmbedder(_artifact(tiny_graph), tiny_graph, INPUT, OUTPUT, BATCH, "ort-cpu")
    batch = np.random.default_rng(0).random((6, 3, 8, 4), dtype=np.float32)  # split 4 + 2 by the profile
    np.testing.assert_allclose(embedder.embed(batch), np.abs(batch - 0.5).reshape(6, -1), rtol=0, atol=1e-7)
    counting = CountingSession(embedder.session)
    embedder.session = counting
    times = embedder.time_compute(batch, warmup=1, runs=3)
    assert len(times) == 3 and all(seconds > 0 for seconds in times) and counting.plain_runs == 0
    embedder.close()
    embedder.close()
    for call in (lambda: embedder.embed(batch), lambda: embedder.time_compute(batch, 0, 1)):
        with pytest.raises(RuntimeError, match=r"ort-cpu embedder of visible\.onnx is closed"):
            call()


# --- on a GPU with onnxruntime-gpu ----------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize(("name", "precision"), [("ort-cuda", "fp32"), ("ort-cuda", "fp16"), ("ort-trt", "int8")])
def test_gpu_providers_place_every_node_on_the_gpu_time_on_device_and_match_the_cpu(
    demo_export: Path, tmp_path: Path, name: str, precision: str
) -> None:
    import onnxruntime as ort

    from vireid_runtime import load_embedder

    wanted = backend.PROVIDERS[name]
    if wanted not in ort.get_available_providers():
        pytest.skip(f"this onnxruntime build has no {wanted} (install onnxruntime-gpu)")
    embedder = load_embedder(demo_export, "visible", name, precision, cache_dir=tmp_path)
    reference = load_embedder(demo_export, "visible", "ort-cpu", precision if precision != "int8" else "fp32")
    try:
        assert isinstance(embedder, OrtEmbedder)
        batch = np.random.default_rng(0).random(
            (19, 3, embedder.input_spec.height, embedder.input_spec.width), dtype=np.float32
        )
        started, on_cpu = placement(embedder.path, name, embedder._providers, batch[:1])
        assert started[0] == wanted and on_cpu == [], (started, on_cpu)
        ours, theirs = embedder.embed(batch), reference.embed(batch)
        cosine = (ours * theirs).sum(1)
        assert cosine.min() >= embedder.artifact.parity.bar.cos_min  # type: ignore[union-attr]
        times = embedder.time_compute(batch[:8], warmup=2, runs=3)
        assert len(times) == 3 and all(seconds > 0 for seconds in times)
    finally:
        embedder.close()
        reference.close()
