"""The native TensorRT backend: clear failures without TensorRT / CUDA / GPU, the plan compatibility check, and
the CUDA plumbing (pinned staging, device buffers, stream, events) on a real GPU behind a stand-in engine.

TensorRT itself is exercised end to end in tests/export/test_tensorrt_build.py (gpu + trt markers).
"""

from __future__ import annotations

import ctypes
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vireid_runtime import load_embedder
from vireid_runtime.backends import tensorrt as backend
from vireid_runtime.backends.tensorrt import TensorRTEmbedder, check_engine_compatible
from vireid_runtime.cuda import NoUsableGpu, cuda_check, parse_device, query_gpu
from vireid_runtime.errors import ArtifactError, BackendUnavailable
from vireid_runtime.manifest import Artifact, BatchRange, Checkpoint, EngineRecord, InputSpec, Manifest, OutputSpec

H100 = {"gpu": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "tensorrt": "10.13.0.35"}
INPUT = InputSpec(height=8, width=4)
OUTPUT = OutputSpec(dim=16)
BATCH = BatchRange(min=2, opt=4, max=8)


def record(values: dict[str, Any]) -> EngineRecord:
    """The manifest's build record of a plan built on the machine `values` describes (gpu, SM, TensorRT)."""
    return EngineRecord(
        values.get("gpu", ""), values.get("compute_capability", ""), values.get("tensorrt", ""), BATCH, 1 << 30, 1.0
    )


def plan_artifact(engine: dict[str, Any], size: int = 4) -> Artifact:
    plan = "visible.fp32.plan"
    return Artifact("visible", "fp32", "plan", plan, "0" * 64, size, backends=("trt",), engine=record(engine))


def construct(tmp_path: Path, engine: dict[str, Any] | None = None) -> TensorRTEmbedder:
    plan = tmp_path / "visible.fp32.plan"
    plan.write_bytes(b"plan")
    return TensorRTEmbedder(plan_artifact(dict(H100) if engine is None else engine), plan, INPUT, OUTPUT, BATCH)


class FakeCudart:
    """Just enough of cuda.bindings.runtime to answer the device queries."""

    def __init__(self, count: int, name: bytes = b"NVIDIA H100 80GB HBM3\0\0", cc: tuple[int, int] = (9, 0)) -> None:
        self.count, self.name, self.cc = count, name, cc

    def cudaGetDeviceCount(self) -> tuple[int, int]:
        return (0, self.count) if self.count else (100, 0)  # 100 = cudaErrorNoDevice

    def cudaGetDevice(self) -> tuple[int, int]:
        return 0, 0

    def cudaGetDeviceProperties(self, device: int) -> tuple[int, Any]:
        return 0, types.SimpleNamespace(name=self.name, major=self.cc[0], minor=self.cc[1])

    def cudaDriverGetVersion(self) -> tuple[int, int]:
        return 0, 13000

    def cudaRuntimeGetVersion(self) -> tuple[int, int]:
        return 0, 12080


@pytest.fixture
def fake_tensorrt(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """An importable `tensorrt` with a version and nothing else: the backend must stop before using it."""
    module = types.ModuleType("tensorrt")
    module.__dict__["__version__"] = "10.13.0.35"
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    return module


def test_without_tensorrt_the_backend_is_unavailable_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailable) as info:
        construct(tmp_path)
    assert str(info.value) == "TensorRT is not installed: pip install 'vireid[trt]' (needs an NVIDIA GPU)"


def test_load_embedder_trt_without_tensorrt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    plan = tmp_path / "visible.fp32.plan"
    plan.write_bytes(b"not a real plan")
    manifest = Manifest(
        input=INPUT,
        output=OUTPUT,
        batch=BATCH,
        opset=18,
        artifacts=(plan_artifact(dict(H100), plan.stat().st_size),),
        model={},
        checkpoint=Checkpoint("model.safetensors", "0" * 64),
    )
    (tmp_path / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    with pytest.raises(BackendUnavailable) as info:
        load_embedder(tmp_path, "visible", backend="trt", precision="fp32")
    assert "\n" not in str(info.value)
    assert "pip install 'vireid[trt]'" in str(info.value)


def test_without_cuda_python_the_backend_is_unavailable(
    fake_tensorrt: types.ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("cuda", "cuda.bindings", "cuda.bindings.runtime", "cuda.cudart"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(BackendUnavailable) as info:
        construct(tmp_path)
    assert str(info.value) == "cuda-python is not installed: pip install 'vireid[trt]' (needs an NVIDIA GPU)"


def test_without_a_gpu_the_backend_is_unavailable(
    fake_tensorrt: types.ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(backend, "import_cudart", lambda: FakeCudart(count=0))
    with pytest.raises(BackendUnavailable, match=r"trt: CUDA finds no NVIDIA GPU .*; TensorRT engines run only"):
        construct(tmp_path)


def test_a_gpu_index_this_machine_lacks_is_named(
    fake_tensorrt: types.ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(backend, "import_cudart", lambda: FakeCudart(count=2))
    plan = tmp_path / "visible.fp32.plan"
    plan.write_bytes(b"plan")
    with pytest.raises(BackendUnavailable, match=r"GPU 3 was asked for; this machine has 2 \(cuda:0..cuda:1\)"):
        TensorRTEmbedder(plan_artifact(dict(H100)), plan, INPUT, OUTPUT, BATCH, device=3)


def test_a_plan_for_another_gpu_is_refused_before_tensorrt_reads_it(
    fake_tensorrt: types.ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(backend, "import_cudart", lambda: FakeCudart(1, b"NVIDIA L4", (8, 9)))
    with pytest.raises(ArtifactError) as info:  # the fake tensorrt has no Runtime: deserialising would crash
        construct(tmp_path)
    assert str(info.value) == (
        "engine visible.fp32.plan was built for NVIDIA H100 80GB HBM3 (sm_90) with TensorRT 10.13.0.35; "
        "this machine has NVIDIA L4 (sm_89) with TensorRT 10.13.0.35; "
        "rebuild it here with `vireid export --engine trt`"
    )


def test_compatible_plan_passes() -> None:
    assert check_engine_compatible(record(H100), dict(H100), "v.plan") is None
    # only the build number differs: the same release
    assert check_engine_compatible(record(H100), {**H100, "tensorrt": "10.13.0.36"}, "v.plan") is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"compute_capability": "8.0", "gpu": "NVIDIA A100-SXM4-80GB"},
            "this machine has NVIDIA A100-SXM4-80GB (sm_80)",
        ),
        ({"tensorrt": "10.14.1.48"}, "with TensorRT 10.13.0.35; this machine has NVIDIA H100 80GB HBM3 (sm_90) with"),
        (
            {"compute_capability": "12.0", "gpu": "NVIDIA RTX PRO 6000", "tensorrt": "11.0.0.1"},
            "(sm_120) with TensorRT 11",
        ),
    ],
)
def test_incompatible_plan_is_one_line_naming_both_sides(change: dict[str, str], expected: str) -> None:
    with pytest.raises(ArtifactError) as info:
        check_engine_compatible(record(H100), {**H100, **change}, "visible.fp16.plan")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("engine visible.fp16.plan was built for NVIDIA H100 80GB HBM3 (sm_90)")
    assert expected in message
    assert message.endswith("rebuild it here with `vireid export --engine trt`")


def test_same_sm_on_another_gpu_model_is_allowed_with_a_warning() -> None:
    caution = check_engine_compatible(record(H100), {**H100, "gpu": "NVIDIA H100 PCIe"}, "v.plan")
    assert caution is not None
    assert "NVIDIA H100 PCIe" in caution and "sm_90" in caution and "\n" not in caution


# ids avoid the bare word "gpu": tests/conftest.py skips any test whose keywords contain it
@pytest.mark.parametrize("missing", ["gpu", "compute_capability", "tensorrt"], ids=["name", "sm", "version"])
def test_plan_without_a_build_record_is_refused(missing: str) -> None:
    partial = {key: value for key, value in H100.items() if key != missing}
    with pytest.raises(ArtifactError, match=f"no build record \\({missing} missing"):
        check_engine_compatible(record(partial), dict(H100), "v.plan")


def test_cuda_check_unpacks_results_and_names_failures() -> None:
    assert cuda_check((0,), "cudaFree") is None
    assert cuda_check((0, 7), "cudaMalloc") == 7
    assert cuda_check((0, 1, 2), "cudaSomething") == (1, 2)
    with pytest.raises(RuntimeError, match=r"cudaMalloc failed: .*2"):
        cuda_check((2, None), "cudaMalloc")


def test_query_gpu_reads_name_capability_and_versions() -> None:
    assert query_gpu(FakeCudart(1)) == {
        "gpu": "NVIDIA H100 80GB HBM3",
        "compute_capability": "9.0",
        "driver": "13.0",
        "cuda_runtime": "12.8",
    }
    with pytest.raises(NoUsableGpu, match="CUDA finds no NVIDIA GPU"):
        query_gpu(FakeCudart(0))


def test_query_gpu_says_what_it_found_instead_of_a_gpu() -> None:
    class Broken(FakeCudart):
        def cudaGetDeviceCount(self) -> tuple[int, int]:
            raise RuntimeError("Failed to dlopen libcudart.so")

    class OldDriver(FakeCudart):
        def cudaGetDeviceCount(self) -> tuple[int, int]:
            return 35, 0  # cudaErrorInsufficientDriver

        def cudaDriverGetVersion(self) -> tuple[int, int]:
            return 0, 11040

    with pytest.raises(NoUsableGpu, match=r"could not load the CUDA libraries \(Failed to dlopen libcudart\.so\)"):
        query_gpu(Broken(1))
    with pytest.raises(NoUsableGpu) as info:
        query_gpu(OldDriver(1))
    assert str(info.value) == (
        "the NVIDIA driver supports CUDA 11.4 but cuda-python here needs CUDA 12.8 (cudaErrorInsufficientDriver): "
        "update the driver, or install a cuda-python for the driver's CUDA"
    )


def test_device_strings() -> None:
    assert parse_device("cuda") == 0 and parse_device("cuda:3") == 3
    for bad in ("gpu", "cuda:", "cuda:x", "cuda:-1"):
        with pytest.raises(ValueError, match="cpu, cuda or cuda:N"):
            parse_device(bad)


# --- on a GPU, without TensorRT: a stand-in engine whose "inference" is a strided device copy ---------------


class CopyContext:
    """Stand-in execution context: embedding[r] = images[r].flatten()[:16], as a cudaMemcpy2DAsync on the stream."""

    def __init__(self, cudart: Any) -> None:
        self.cudart, self.rows = cudart, 0
        self.addresses: dict[str, int] = {}

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        self.rows = shape[0]
        return 2 <= shape[0] <= 8 and tuple(shape[1:]) == (3, 8, 4)

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = address
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        getattr(self.cudart, "calls", []).append("launch")
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyDeviceToDevice
        out, images = self.addresses["embedding"], self.addresses["images"]
        result = self.cudart.cudaMemcpy2DAsync(out, 16 * 4, images, 96 * 4, 16 * 4, self.rows, kind, stream_handle)
        return int(result[0]) == 0


class StandInLogger:
    ERROR = 1

    def __init__(self, min_severity: int) -> None:
        self.min_severity = min_severity


def stand_in_tensorrt(cudart: Any) -> types.ModuleType:
    """A `tensorrt` module whose Runtime 'deserialises' any bytes into an engine running CopyContext."""
    names = ["images", "embedding"]
    engine = types.SimpleNamespace(
        num_io_tensors=2,
        get_tensor_name=lambda index: names[index],
        get_tensor_mode=lambda name: "in" if name == "images" else "out",
        get_tensor_dtype=lambda name: "f32",
        get_tensor_profile_shape=lambda name, profile: [(2, 3, 8, 4), (4, 3, 8, 4), (8, 3, 8, 4)],
        get_tensor_shape=lambda name: (-1, 16),
        create_execution_context=lambda: CopyContext(cudart),
    )
    module = types.ModuleType("tensorrt")
    module.__dict__.update(
        __version__="10.13.0.35",
        Logger=StandInLogger,
        Runtime=lambda logger: types.SimpleNamespace(deserialize_cuda_engine=lambda data: engine),
        TensorIOMode=types.SimpleNamespace(INPUT="in", OUTPUT="out"),
        float32="f32",
    )
    return module


@pytest.mark.gpu
def test_cuda_plumbing_on_a_real_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cudart = backend.import_cudart()
    gpu = query_gpu(cudart)
    assert gpu is not None and gpu["compute_capability"].count(".") == 1
    monkeypatch.setitem(sys.modules, "tensorrt", stand_in_tensorrt(cudart))
    embedder = construct(tmp_path, {**gpu, "tensorrt": "10.13.0.35"})
    try:
        assert embedder.max_batch == 8
        rng = np.random.default_rng(0)
        for count in (1, 5, 19):  # below the profile minimum (padded), inside it, above its maximum (split)
            batch = rng.random((count, 3, 8, 4), dtype=np.float32)
            np.testing.assert_array_equal(embedder.embed(batch), batch.reshape(count, -1)[:, :16])
        times = embedder.time_compute(rng.random((19, 3, 8, 4), dtype=np.float32), warmup=2, runs=3)
        assert len(times) == 3 and all(seconds > 0.0 for seconds in times)
    finally:
        embedder.close()
    embedder.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        embedder.embed(np.zeros((1, 3, 8, 4), dtype=np.float32))


class HostCudart(FakeCudart):
    """cuda-python's runtime emulated in host memory: "device" buffers are host buffers, copies are memmoves,
    and `calls` records event records and launches in stream order, so the plumbing runs on any machine."""

    cudaStreamNonBlocking = 1
    cudaMemcpyKind = types.SimpleNamespace(
        cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2, cudaMemcpyDeviceToDevice=3
    )

    def __init__(self) -> None:
        super().__init__(1)
        self.buffers: list[Any] = []
        self.calls: list[str] = []

    def _allocate(self, nbytes: int) -> tuple[int, int]:
        buffer = ctypes.create_string_buffer(nbytes)
        self.buffers.append(buffer)
        return 0, ctypes.addressof(buffer)

    cudaMallocHost = cudaMalloc = _allocate

    def cudaSetDevice(self, device: int) -> tuple[int]:
        return (0,)

    def cudaStreamCreateWithFlags(self, flags: int) -> tuple[int, int]:
        return 0, 7

    def cudaEventCreate(self) -> tuple[int, int]:
        return 0, 1

    def cudaMemcpyAsync(self, dst: int, src: int, nbytes: int, kind: int, stream: int) -> tuple[int]:
        ctypes.memmove(dst, src, nbytes)
        return (0,)

    def cudaMemcpy2DAsync(
        self, dst: int, dpitch: int, src: int, spitch: int, width: int, height: int, *_: Any
    ) -> tuple[int]:
        for row in range(height):
            ctypes.memmove(dst + row * dpitch, src + row * spitch, width)
        return (0,)

    def cudaEventRecord(self, event: int, stream: int) -> tuple[int]:
        self.calls.append("record")
        return (0,)

    def cudaEventElapsedTime(self, start: int, end: int) -> tuple[int, float]:
        return 0, 5.0  # milliseconds between the two records

    def _done(self, *_: Any) -> tuple[int]:
        return (0,)

    cudaEventSynchronize = cudaStreamSynchronize = cudaFree = cudaFreeHost = cudaEventDestroy = _done
    cudaStreamDestroy = _done


def test_compute_timing_queues_runs_back_to_back_between_two_events(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cudart = HostCudart()
    monkeypatch.setattr(backend, "import_cudart", lambda: cudart)
    monkeypatch.setitem(sys.modules, "tensorrt", stand_in_tensorrt(cudart))
    embedder = construct(tmp_path)
    try:
        batch = np.random.default_rng(0).random((19, 3, 8, 4), dtype=np.float32)  # chunks of 8 + 8 + 3
        np.testing.assert_array_equal(embedder.embed(batch), batch.reshape(19, -1)[:, :16])
        cudart.calls.clear()
        times = embedder.time_compute(batch, warmup=1, runs=2)
    finally:
        embedder.close()
    per_sample = backend.LAUNCHES_PER_SAMPLE * 3
    assert cudart.calls == ["launch"] * 3 + (["record"] + ["launch"] * per_sample + ["record"]) * 2
    assert times == [0.005 / backend.LAUNCHES_PER_SAMPLE] * 2  # seconds per run of the whole batch
