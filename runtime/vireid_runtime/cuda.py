"""CUDA through cuda-python, in one place: device queries, device selection, streams, events, pinned buffers.

The native TensorRT backend, the ONNX Runtime GPU backends and the export's engine builder all ask the same
questions ("is there a usable GPU, which one, what can it run?"), so they ask here, and a machine without a
usable GPU is described the same way everywhere: what was found, not just "no GPU" (a driver too old for the
installed cuda-python is the common case on a fresh machine, and deserves its own sentence).

cuda-python, not torch: the runtime ships without torch. Every cuda-python call returns
`(cudaError_t, *values)`; `cuda_check` unpacks it and names the failing call.
"""

from __future__ import annotations

import ctypes
import importlib
from typing import Any

import numpy as np

NO_DEVICE = 100  # cudaErrorNoDevice
INSUFFICIENT_DRIVER = 35  # cudaErrorInsufficientDriver


class NoUsableGpu(RuntimeError):
    """No GPU this process can use; the message says what was found and what to do."""


def import_cudart() -> Any:
    """cuda-python's runtime module: `cuda.bindings.runtime`, or `cuda.cudart` in cuda-python before 12.6."""
    try:
        return importlib.import_module("cuda.bindings.runtime")
    except ImportError:
        return importlib.import_module("cuda.cudart")


def cuda_check(result: Any, call: str) -> Any:
    """Unpack a cuda-python result `(cudaError_t, *values)`; RuntimeError naming `call` unless it succeeded."""
    error, *values = result
    if int(error) != 0:  # cudaSuccess
        raise RuntimeError(f"CUDA call {call} failed: {getattr(error, 'name', error)} ({int(error)})")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def cuda_version(value: int) -> str:
    """CUDA's integer version (12080) as text (12.8)."""
    return f"{value // 1000}.{value % 1000 // 10}"


def parse_device(device: str) -> int:
    """`cuda` or `cuda:N` -> N (0 for `cuda`); ValueError for anything else."""
    if device == "cuda":
        return 0
    head, _, index = device.partition(":")
    if head != "cuda" or not index.isdigit():
        raise ValueError(f"device must be cpu, cuda or cuda:N, got {device!r}")
    return int(index)


def _driver_cuda(cudart: Any) -> str:
    try:
        error, version = cudart.cudaDriverGetVersion()
    except (RuntimeError, OSError):
        return "none"
    return cuda_version(version) if int(error) == 0 and version else "none"


def query_gpu(cudart: Any, device: int = 0) -> dict[str, str]:
    """Name, compute capability and CUDA versions of GPU `device`; NoUsableGpu saying what was found instead."""
    try:
        return _query_gpu(cudart, device)
    except RuntimeError as err:  # a failed query call (cuda_check) means no usable GPU as well
        if isinstance(err, NoUsableGpu):
            raise
        raise NoUsableGpu(str(err)) from None


def _query_gpu(cudart: Any, device: int) -> dict[str, str]:
    """`query_gpu` itself. "driver" is the CUDA version the installed driver supports (`cudaDriverGetVersion`);
    the driver's own release number is only available through NVML."""
    try:
        error, count = cudart.cudaGetDeviceCount()
    except (RuntimeError, OSError) as err:  # cuda-python could not load the CUDA libraries at all
        raise NoUsableGpu(f"cuda-python could not load the CUDA libraries ({str(err).splitlines()[0]})") from None
    code = int(error)
    runtime = cuda_version(cuda_check(cudart.cudaRuntimeGetVersion(), "cudaRuntimeGetVersion"))
    if code == INSUFFICIENT_DRIVER and _driver_cuda(cudart) == "none":
        raise NoUsableGpu("no NVIDIA driver is loaded here (CUDA reports driver version 0): no usable GPU")
    if code == INSUFFICIENT_DRIVER:
        raise NoUsableGpu(
            f"the NVIDIA driver supports CUDA {_driver_cuda(cudart)} but cuda-python here needs CUDA {runtime} "
            "(cudaErrorInsufficientDriver): update the driver, or install a cuda-python for the driver's CUDA"
        )
    if code == NO_DEVICE or (code == 0 and not count):
        raise NoUsableGpu(f"CUDA finds no NVIDIA GPU (driver CUDA {_driver_cuda(cudart)}, cudaErrorNoDevice)")
    if code != 0:
        raise NoUsableGpu(f"cudaGetDeviceCount failed: {getattr(error, 'name', error)} ({code})")
    if not 0 <= device < count:
        raise NoUsableGpu(f"GPU {device} was asked for; this machine has {count} (cuda:0..cuda:{count - 1})")
    props = cuda_check(cudart.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = props.name
    if isinstance(name, bytes):
        name = name.split(b"\0", 1)[0].decode("utf-8", "replace")
    return {
        "gpu": str(name),
        "compute_capability": f"{props.major}.{props.minor}",
        "driver": _driver_cuda(cudart),
        "cuda_runtime": runtime,
    }


def use_device(cudart: Any, device: int) -> None:
    """Make GPU `device` current for this thread (streams and buffers are created on it)."""
    cuda_check(cudart.cudaSetDevice(device), f"cudaSetDevice({device})")


def new_stream(cudart: Any) -> Any:
    """A non-blocking stream: the legacy default stream adds synchronisations (TensorRT warns about it) and
    serialises against all other work on the device."""
    return cuda_check(cudart.cudaStreamCreateWithFlags(cudart.cudaStreamNonBlocking), "cudaStreamCreateWithFlags")


def new_event(cudart: Any) -> Any:
    return cuda_check(cudart.cudaEventCreate(), "cudaEventCreate")


def elapsed_seconds(cudart: Any, start: Any, end: Any) -> float:
    """Seconds between two recorded events, once `end` has completed."""
    cuda_check(cudart.cudaEventSynchronize(end), "cudaEventSynchronize")
    return float(cuda_check(cudart.cudaEventElapsedTime(start, end), "cudaEventElapsedTime")) / 1000.0


def pinned_array(cudart: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """A float32 array in page-locked host memory (copies to and from it run as asynchronous DMA), and the
    pointer to free with `cudaFreeHost` once every view of the array is gone."""
    count = int(np.prod(shape))
    pointer = int(cuda_check(cudart.cudaMallocHost(count * 4), "cudaMallocHost"))
    return np.ctypeslib.as_array((ctypes.c_float * count).from_address(pointer)).reshape(shape), pointer
