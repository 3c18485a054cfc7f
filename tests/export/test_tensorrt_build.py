"""TensorRT engine builds: one clear line and nothing written when TensorRT or a GPU is missing; on a GPU with
TensorRT, a tiny branch built strongly typed matches ONNX Runtime, also for batches the profile must split.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vireid.errors import VireidError
from vireid_export.tensorrt_build import build_engine, builder_config, tensorrt_environment
from vireid_runtime import cuda
from vireid_runtime.manifest import Artifact, BatchRange, EngineRecord

PIP_HINT = "pip install 'vireid[trt]'"


def build_args(tmp_path: Path) -> dict[str, Any]:
    return {
        "input_name": "images",
        "channels": 3,
        "height": 96,
        "width": 48,
        "batch_min": 1,
        "batch_opt": 4,
        "batch_max": 8,
        "timing_cache_path": tmp_path / "out" / "tensorrt.timing-cache",
    }


@pytest.fixture
def no_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # `import tensorrt` raises ImportError, installed or not


@pytest.fixture
def tensorrt_without_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """TensorRT importable, but CUDA (through cuda-python) reports no device."""
    module = types.ModuleType("tensorrt")
    module.__dict__["__version__"] = "10.13.0.35"
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    no_device = types.SimpleNamespace(
        cudaGetDeviceCount=lambda: (100, 0),  # cudaErrorNoDevice
        cudaDriverGetVersion=lambda: (0, 13000),
        cudaRuntimeGetVersion=lambda: (0, 12080),
    )
    monkeypatch.setattr(cuda, "import_cudart", lambda: no_device)


def assert_one_line(error: pytest.ExceptionInfo[VireidError], *fragments: str) -> None:
    message = str(error.value)
    assert message and "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_environment_without_tensorrt(no_tensorrt: None) -> None:
    with pytest.raises(VireidError) as error:
        tensorrt_environment()
    assert str(error.value) == "TensorRT is not installed: pip install 'vireid[trt]' (needs an NVIDIA GPU)"


def test_build_without_tensorrt_writes_nothing(no_tensorrt: None, tmp_path: Path) -> None:
    onnx_path = tmp_path / "visible.onnx"
    onnx_path.write_bytes(b"an ONNX graph")
    out = tmp_path / "out"
    out.mkdir()
    args = build_args(tmp_path)
    args["timing_cache_path"].write_bytes(b"old cache")
    with pytest.raises(VireidError) as error:
        build_engine(onnx_path, out / "visible.fp32.plan", **args)
    assert_one_line(error, PIP_HINT)
    assert sorted(path.name for path in out.iterdir()) == ["tensorrt.timing-cache"]  # no plan, no temp file
    assert args["timing_cache_path"].read_bytes() == b"old cache"


def test_environment_without_gpu(tensorrt_without_gpu: None) -> None:
    with pytest.raises(VireidError) as error:
        tensorrt_environment()
    assert_one_line(error, "CUDA finds no NVIDIA GPU", "vireid export --engine trt")


def test_a_driver_too_old_for_cuda_python_is_named(tensorrt_without_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    old_driver = types.SimpleNamespace(
        cudaGetDeviceCount=lambda: (35, 0),  # cudaErrorInsufficientDriver
        cudaDriverGetVersion=lambda: (0, 11040),
        cudaRuntimeGetVersion=lambda: (0, 12080),
    )
    monkeypatch.setattr(cuda, "import_cudart", lambda: old_driver)
    with pytest.raises(VireidError) as error:
        tensorrt_environment()
    assert_one_line(error, "driver supports CUDA 11.4", "needs CUDA 12.8", "update the driver")


class RecordingConfig:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def set_memory_pool_limit(self, pool: object, size: int) -> None:
        self.calls.append(("limit", (pool, size)))

    def clear_flag(self, flag: object) -> None:
        self.calls.append(("clear", flag))


@pytest.mark.parametrize("allow_tf32", [False, True])
def test_fp32_plans_are_built_without_tf32(allow_tf32: bool) -> None:
    trt_module = types.SimpleNamespace(
        MemoryPoolType=types.SimpleNamespace(WORKSPACE="workspace"), BuilderFlag=types.SimpleNamespace(TF32="tf32")
    )
    config = RecordingConfig()
    builder = types.SimpleNamespace(create_builder_config=lambda: config)
    assert builder_config(trt_module, builder, workspace_bytes=1 << 20, allow_tf32=allow_tf32) is config  # type: ignore[arg-type]
    assert (("clear", "tf32") in config.calls) is not allow_tf32


def test_environment_without_cuda_python_asks_torch(
    tensorrt_without_gpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    def missing() -> Any:
        raise ImportError("No module named 'cuda'")

    monkeypatch.setattr(cuda, "import_cudart", missing)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(VireidError, match="torch finds no CUDA GPU"):
        tensorrt_environment()


def test_environment_reports_tensorrt_and_gpu(tensorrt_without_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    properties = types.SimpleNamespace(name=b"NVIDIA H100 80GB HBM3", major=9, minor=0)
    device = types.SimpleNamespace(
        cudaGetDeviceCount=lambda: (0, 1),
        cudaGetDevice=lambda: (0, 0),
        cudaGetDeviceProperties=lambda index: (0, properties),
        cudaDriverGetVersion=lambda: (0, 13000),
        cudaRuntimeGetVersion=lambda: (0, 12080),
    )
    monkeypatch.setattr(cuda, "import_cudart", lambda: device)
    assert tensorrt_environment() == {
        "tensorrt": "10.13.0.35",
        "gpu": "NVIDIA H100 80GB HBM3",
        "compute_capability": "9.0",
        "driver": "13.0",
        "cuda_runtime": "12.8",
    }


def test_build_without_gpu_writes_nothing(tensorrt_without_gpu: None, tmp_path: Path) -> None:
    onnx_path = tmp_path / "visible.onnx"
    onnx_path.write_bytes(b"an ONNX graph")
    with pytest.raises(VireidError) as error:
        build_engine(onnx_path, tmp_path / "out" / "visible.fp32.plan", **build_args(tmp_path))
    assert_one_line(error, "CUDA finds no NVIDIA GPU")
    assert not (tmp_path / "out").exists()


# --- on a GPU with TensorRT ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from tests.helpers import tiny_model_config
    from vireid.models import build_model

    torch.manual_seed(0)
    branch = build_model(tiny_model_config()).eval().branch("visible")
    program = torch.onnx.export(
        branch,
        (torch.rand(2, 3, 96, 48),),
        dynamo=True,
        input_names=["images"],
        output_names=["embedding"],
        dynamic_shapes={"images": {0: torch.export.Dim("batch", min=1, max=1024)}},
        opset_version=18,
    )
    assert program is not None
    path = tmp_path_factory.mktemp("onnx") / "visible.onnx"
    program.save(path, external_data=False)
    return path


def trt_and_ort(onnx_path: Path, plan_path: Path, record: EngineRecord) -> tuple[Any, Any]:
    """The TensorRT embedder for `plan_path` and the ONNX Runtime CPU reference for `onnx_path`."""
    from vireid_runtime.backends.onnxruntime import OrtEmbedder
    from vireid_runtime.backends.tensorrt import TensorRTEmbedder
    from vireid_runtime.manifest import Artifact, InputSpec, OutputSpec

    input_spec, output_spec = InputSpec(height=96, width=48), OutputSpec(dim=1536)
    batch = record.batch
    plan = Artifact("visible", "fp32", "plan", plan_path.name, "", plan_path.stat().st_size, engine=record)
    graph = Artifact("visible", "fp32", "onnx", onnx_path.name, "", onnx_path.stat().st_size)
    reference = OrtEmbedder(graph, onnx_path, input_spec, output_spec, batch, "ort-cpu")
    return TensorRTEmbedder(plan, plan_path, input_spec, output_spec, batch), reference


@pytest.mark.gpu
@pytest.mark.trt
def test_against_onnxruntime(tiny_onnx: Path, tmp_path: Path) -> None:
    args = build_args(tmp_path)
    plan_path = tmp_path / "out" / "visible.fp32.plan"
    record = build_engine(tiny_onnx, plan_path, **args)
    assert record.strongly_typed is True and record.tf32 is False
    assert record.batch == BatchRange(1, 4, 8)
    assert record.tensorrt == tensorrt_environment()["tensorrt"]
    assert record.timing_cache == "tensorrt.timing-cache" and args["timing_cache_path"].stat().st_size > 0
    assert sorted(path.name for path in plan_path.parent.iterdir()) == ["tensorrt.timing-cache", "visible.fp32.plan"]

    engine, reference = trt_and_ort(tiny_onnx, plan_path, record)
    try:
        assert engine.max_batch == 8
        rng = np.random.default_rng(0)
        for count in (1, 19):  # one image, and a batch the 1..8 profile must split into 8 + 8 + 3
            batch = rng.random((count, 3, 96, 48), dtype=np.float32)
            ours, theirs = engine.embed(batch), reference.embed(batch)
            assert ours.shape == theirs.shape == (count, 1536)
            cosine = (ours * theirs).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
            assert cosine.min() >= 0.9999, cosine.min()
        times = engine.time_compute(rng.random((4, 3, 96, 48), dtype=np.float32), warmup=2, runs=3)
        assert len(times) == 3 and all(seconds > 0 for seconds in times)
    finally:
        engine.close()
        reference.close()


@pytest.mark.gpu
@pytest.mark.trt
def test_rebuild_reuses_the_timing_cache_and_a_broken_graph_is_one_line(tiny_onnx: Path, tmp_path: Path) -> None:
    args = build_args(tmp_path)
    build_engine(tiny_onnx, tmp_path / "out" / "a.plan", **args)
    messages: list[str] = []
    build_engine(tiny_onnx, tmp_path / "out" / "b.plan", log=messages.append, **args)
    assert not any("ignoring timing cache" in message for message in messages)

    args["timing_cache_path"].write_bytes(b"not a timing cache")
    build_engine(tiny_onnx, tmp_path / "out" / "c.plan", log=messages.append, **args)
    assert any("ignoring timing cache" in message for message in messages)
    assert args["timing_cache_path"].read_bytes() != b"not a timing cache"  # replaced by the new, complete one

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(tiny_onnx.read_bytes()[:1000])
    with pytest.raises(VireidError) as error:
        build_engine(broken, tmp_path / "out" / "d.plan", **args)
    assert_one_line(error, "TensorRT cannot parse")
    assert not (tmp_path / "out" / "d.plan").exists()


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.gpu
@pytest.mark.trt
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_fp16_and_int8_plans_match_onnxruntime_on_the_same_graph(
    demo_export: Path, tmp_path: Path, precision: str
) -> None:
    """TensorRT against ONNX Runtime CPU running the very graph the plan was built from (int8: Q/DQ emulated,
    the arithmetic a GPU performs), at batch 1 and at a batch the 1..8 profile must split."""
    from vireid_export.ort_cpu import cpu_session, session_embed
    from vireid_runtime.backends.tensorrt import TensorRTEmbedder
    from vireid_runtime.manifest import read_manifest

    manifest = read_manifest(demo_export)
    graph = manifest.find("visible", precision, "onnx", "ort-trt")
    assert graph is not None
    args = {**build_args(tmp_path), "height": manifest.input.height, "width": manifest.input.width}
    plan_path = tmp_path / "out" / f"visible.{precision}.plan"
    record = build_engine(demo_export / graph.file, plan_path, **args)
    assert record.tf32 is True  # only fp32 plans turn TF32 off
    plan = Artifact("visible", precision, "plan", plan_path.name, "", plan_path.stat().st_size, engine=record)
    reference = cpu_session(demo_export / graph.file, emulate_qdq=precision == "int8")
    engine = TensorRTEmbedder(plan, plan_path, manifest.input, manifest.output, record.batch)
    try:
        rng = np.random.default_rng(0)
        for count in (1, 19):
            batch = rng.random((count, 3, manifest.input.height, manifest.input.width), dtype=np.float32)
            cosine = _cosine(engine.embed(batch), session_embed(reference, batch))
            assert cosine.min() >= (0.999 if precision == "fp16" else 0.99), (precision, count, cosine.min())
    finally:
        engine.close()


@pytest.mark.gpu
@pytest.mark.trt
def test_the_whole_trt_export_gates_records_the_gpu_and_writes_plans_atomically(trt_export: Path) -> None:
    from vireid_export.tensorrt_build import tensorrt_environment
    from vireid_runtime.manifest import read_manifest

    here = tensorrt_environment()
    manifest = read_manifest(trt_export)
    plans = [a for a in manifest.artifacts if a.format == "plan"]
    assert {(a.modality, a.precision) for a in plans} == {
        (m, p) for m in ("visible", "infrared") for p in ("fp32", "fp16", "int8")
    }
    for artifact in plans:
        assert artifact.parity is not None and artifact.parity.passed, artifact.file
        assert artifact.engine is not None, artifact.file
        for key in ("gpu", "compute_capability", "tensorrt"):
            assert getattr(artifact.engine, key) == here[key], (artifact.file, key)
        assert artifact.engine.tf32 is (artifact.precision != "fp32")
        assert (trt_export / artifact.file).stat().st_size == artifact.bytes
    assert not [p for p in trt_export.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert not list(trt_export.parent.glob(f".{trt_export.name}.partial-*")), "the staging folder is gone"
