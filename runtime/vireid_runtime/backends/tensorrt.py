"""Native TensorRT backend (`trt`): runs a plan built by `vireid export --engine trt` on a CUDA stream.

Why it is written this way:
- Only the name-based I/O API that TensorRT 10 introduced and TensorRT 11 keeps: tensor names come from
  `num_io_tensors` / `get_tensor_name` / `get_tensor_mode`, and a run is `set_input_shape`,
  `set_tensor_address`, `execute_async_v3`. Bindings and `execute_async_v2` no longer exist.
- Precision is baked into the plan (built strongly typed from the fp32, fp16 or int8 Q/DQ ONNX), so this code is
  the same for every precision; the plan's input and output stay float32.
- A plan runs only on the GPU architecture (SM) and the TensorRT release that built it. The manifest records
  both, and they are compared before deserialising, so a mismatch is one line naming both sides and the fix
  rather than TensorRT's internal error. The same SM on another GPU model is allowed with a RuntimeWarning:
  TensorRT runs such a plan, but its kernels were timed on the other model, so speed figures may not carry over.
- Our own non-blocking stream: on the legacy default stream TensorRT adds synchronisations of its own (it warns
  so), and the default stream serialises against all other work on the device.
- Device buffers and pinned host staging buffers are allocated once, for the profile's maximum batch; pinned
  memory lets the copies run as asynchronous DMA. Larger batches are split by the base class.
- CUDA comes from cuda-python through `vireid_runtime/cuda.py` (device queries, streams, events, pinned
  buffers), shared with the ONNX Runtime GPU backends and the engine builder.
- `time_compute` times back-to-back `execute_async_v3` calls between two events, so Python's launch gaps stay
  out of the figure, as they would in a serving loop that queues work ahead.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vireid_runtime.cuda import (
    NoUsableGpu,
    cuda_check,
    elapsed_seconds,
    import_cudart,
    new_event,
    new_stream,
    pinned_array,
    query_gpu,
    use_device,
)
from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError, BackendUnavailable
from vireid_runtime.manifest import Artifact, BatchRange, EngineRecord, InputSpec, OutputSpec

if TYPE_CHECKING:
    import tensorrt as trt

TRT_MISSING = "TensorRT is not installed: pip install 'vireid[trt]' (needs an NVIDIA GPU)"
CUDA_MISSING = "cuda-python is not installed: pip install 'vireid[trt]' (needs an NVIDIA GPU)"
LAUNCHES_PER_SAMPLE = 10
"""Back-to-back runs per timing sample: enough to hide Python's launch gap behind the GPU's work."""
REBUILD = "rebuild it here with `vireid export --engine trt`"


def _sm(compute_capability: str) -> str:
    return "sm_" + compute_capability.replace(".", "")


def _release(version: str) -> str:
    """major.minor.patch: what a plan must match (the fourth field is the build number)."""
    return ".".join(version.split(".")[:3])


def check_engine_compatible(record: EngineRecord | None, current: Mapping[str, str], file: str = "plan") -> str | None:
    """Compare a plan's build record (manifest `engine`) with this machine; ArtifactError on a mismatch.

    `current` holds "gpu", "compute_capability" and "tensorrt" for this machine. Returns a warning text when only
    the GPU model differs (same SM), else None.
    """
    missing = (
        ["gpu", "compute_capability", "tensorrt"]
        if record is None
        else [key for key in ("gpu", "compute_capability", "tensorrt") if not getattr(record, key)]
    )
    if record is None or missing:
        raise ArtifactError(
            f"engine {file} has no build record ({', '.join(missing)} missing in the manifest); {REBUILD}"
        )
    built_cc, here_cc = str(record.compute_capability), current["compute_capability"]
    built_trt, here_trt = str(record.tensorrt), current["tensorrt"]
    if built_cc != here_cc or _release(built_trt) != _release(here_trt):
        raise ArtifactError(
            f"engine {file} was built for {record.gpu} ({_sm(built_cc)}) with TensorRT {built_trt}; "
            f"this machine has {current['gpu']} ({_sm(here_cc)}) with TensorRT {here_trt}; {REBUILD}"
        )
    if record.gpu != current["gpu"]:
        return (
            f"engine {file} was built on {record.gpu} and runs here on {current['gpu']} (both {_sm(here_cc)}): "
            f"TensorRT can run it, but its kernels were timed on the other model; {REBUILD} for reliable speed"
        )
    return None


def _dims(dims: trt.Dims) -> tuple[int, ...]:
    return tuple(dims[i] for i in range(len(dims)))


class TensorRTEmbedder(Embedder):
    backend = "trt"

    def __init__(
        self,
        artifact: Artifact,
        path: Path,
        input_spec: InputSpec,
        output_spec: OutputSpec,
        batch: BatchRange,
        device: int = 0,
    ) -> None:
        # Everything close() releases exists from the start, so a failure half-way through cleans up.
        self._cudart: Any = None
        self._stream: Any = None
        self._events: list[Any] = []
        self._device: dict[str, int] = {}
        self._pinned_pointers: list[int] = []
        self._host_in: np.ndarray | None = None
        self._host_out: np.ndarray | None = None
        self._context: trt.IExecutionContext | None = None
        self._engine: trt.ICudaEngine | None = None
        try:
            import tensorrt as trt
        except ImportError:
            raise BackendUnavailable(TRT_MISSING) from None
        try:
            cudart = import_cudart()
        except ImportError:
            raise BackendUnavailable(CUDA_MISSING) from None
        try:
            gpu = query_gpu(cudart, device)
        except NoUsableGpu as err:
            raise BackendUnavailable(f"trt: {err}; TensorRT engines run only on a GPU") from None
        self._device_index = device
        caution = check_engine_compatible(artifact.engine, {**gpu, "tensorrt": trt.__version__}, artifact.file)
        if caution:
            warnings.warn(caution, RuntimeWarning, stacklevel=2)

        try:
            use_device(cudart, device)  # the engine's weights, context, stream and buffers all live on it
        except RuntimeError as err:
            raise BackendUnavailable(f"trt: {err}") from None
        self._logger = trt.Logger(trt.Logger.ERROR)
        self._runtime = trt.Runtime(self._logger)
        engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if engine is None:
            raise ArtifactError(f"TensorRT could not deserialise {path} (corrupt or incompatible); {REBUILD}")
        self._engine = engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or len(outputs) != 1:
            raise ArtifactError(f"{path} has inputs {inputs} and outputs {outputs}; a branch has one of each")
        self._input, self._output = inputs[0], outputs[0]
        for name in (self._input, self._output):
            if engine.get_tensor_dtype(name) != trt.float32:
                raise ArtifactError(f"{path}: tensor {name!r} is {engine.get_tensor_dtype(name)}, expected float32")
        low, _, high = (_dims(d) for d in engine.get_tensor_profile_shape(self._input, 0))
        chw = (input_spec.channels, input_spec.height, input_spec.width)
        if high[1:] != chw:
            raise ArtifactError(f"{path} takes N x {' x '.join(map(str, high[1:]))}, the manifest says N x {chw}")
        dim = _dims(engine.get_tensor_shape(self._output))[-1]
        if dim != output_spec.dim:
            raise ArtifactError(f"{path} returns {dim}-d embeddings, the manifest says {output_spec.dim}")
        super().__init__(artifact, path, input_spec, output_spec, max_batch=high[0])
        self._min_batch = max(1, low[0])
        try:
            self._allocate(cudart, engine, high[0], chw, dim)
        except RuntimeError as err:  # a failed CUDA call (out of memory, a sticky error): one line, nothing kept
            self._release()
            raise BackendUnavailable(f"trt: {err}") from None
        except BaseException:
            self._release()
            raise

    def _allocate(self, cudart: Any, engine: trt.ICudaEngine, rows: int, chw: tuple[int, ...], dim: int) -> None:
        self._cudart = cudart
        self._context = engine.create_execution_context()
        if self._context is None:
            raise BackendUnavailable(f"trt: TensorRT could not create an execution context for {self.path}")
        self._stream = new_stream(cudart)
        self._events = [new_event(cudart) for _ in range(2)]
        self._host_in = self._pinned((rows, *chw))
        self._host_out = self._pinned((rows, dim))
        for name, host in ((self._input, self._host_in), (self._output, self._host_out)):
            self._device[name] = int(cuda_check(cudart.cudaMalloc(host.nbytes), "cudaMalloc"))

    def _pinned(self, shape: tuple[int, ...]) -> np.ndarray:
        array, pointer = pinned_array(self._cudart, shape)
        self._pinned_pointers.append(pointer)
        return array

    def _prepare(self, rows: int) -> trt.IExecutionContext:
        """Give the context this run's batch size and the buffers' addresses."""
        context = self._context
        if context is None:
            raise RuntimeError("this TensorRT embedder is closed")
        shape = (rows, self.input_spec.channels, self.input_spec.height, self.input_spec.width)
        if not context.set_input_shape(self._input, shape):
            raise RuntimeError(
                f"TensorRT rejected input shape {shape} (profile batch {self._min_batch}..{self.max_batch})"
            )
        for name, address in self._device.items():
            if not context.set_tensor_address(name, address):
                raise RuntimeError(f"TensorRT rejected the device address of tensor {name!r}")
        return context

    def _enqueue(self, context: trt.IExecutionContext) -> None:
        if not context.execute_async_v3(int(self._stream)):
            raise RuntimeError(f"TensorRT execute_async_v3 failed on {self.path}")

    def _copy(self, destination: int, source: int, nbytes: int, kind: Any, call: str) -> None:
        cuda_check(self._cudart.cudaMemcpyAsync(destination, source, nbytes, kind, self._stream), call)

    def _upload(self, batch: np.ndarray) -> int:
        """Stage a chunk in pinned memory and queue its copy to the GPU; returns the rows the engine will run.

        A chunk smaller than the profile's minimum batch is padded with zero rows (rows are independent).
        """
        if self._host_in is None:
            raise RuntimeError("this TensorRT embedder is closed")
        count = batch.shape[0]
        rows = max(count, self._min_batch)
        self._host_in[:count] = batch
        self._host_in[count:rows] = 0.0
        nbytes = rows * self._host_in[0].nbytes
        kind = self._cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._copy(self._device[self._input], self._host_in.ctypes.data, nbytes, kind, "cudaMemcpyAsync H2D")
        return rows

    def _synchronize(self) -> None:
        cuda_check(self._cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        if self._host_out is None:
            raise RuntimeError("this TensorRT embedder is closed")
        use_device(self._cudart, self._device_index)
        rows = self._upload(batch)
        self._enqueue(self._prepare(rows))
        kind = self._cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        nbytes = rows * self._host_out[0].nbytes
        self._copy(self._host_out.ctypes.data, self._device[self._output], nbytes, kind, "cudaMemcpyAsync D2H")
        self._synchronize()
        return self._host_out[: batch.shape[0]].copy()

    def time_compute(self, batch: np.ndarray, warmup: int, runs: int) -> list[float]:
        """Device seconds per run of `execute_async_v3` alone, timed with CUDA events on the engine's stream.

        Each of the `runs` samples is LAUNCHES_PER_SAMPLE runs queued back to back between two events, divided
        by that count: the GPU never waits for Python to launch the next run, so the figure is the engine's
        own time (a lone run between two events would add the Python launch gap to every sample). The input is
        uploaded once. A batch above the profile maximum runs as the same chunks `embed` would use, all on the
        first chunk's data (compute time does not depend on the values); the shape is only set again when it
        changes.
        """
        chunks = self.chunks(self.validate(batch))
        sizes = [max(chunk.shape[0], self._min_batch) for chunk in chunks]
        use_device(self._cudart, self._device_index)
        self._upload(chunks[0])
        cudart = self._cudart
        start, end = self._events
        context, prepared = self._prepare(sizes[0]), sizes[0]

        def run_once() -> None:
            nonlocal context, prepared
            for rows in sizes:
                if rows != prepared:
                    context, prepared = self._prepare(rows), rows
                self._enqueue(context)

        for _ in range(warmup):
            run_once()
        self._synchronize()
        times = []
        for _ in range(runs):
            cuda_check(cudart.cudaEventRecord(start, self._stream), "cudaEventRecord")
            for _ in range(LAUNCHES_PER_SAMPLE):
                run_once()
            cuda_check(cudart.cudaEventRecord(end, self._stream), "cudaEventRecord")
            times.append(elapsed_seconds(cudart, start, end) / LAUNCHES_PER_SAMPLE)
        return times

    def _release(self) -> None:
        """Release the context, engine, buffers, events and stream; safe to call twice.

        Best effort by design: after a sticky CUDA error every release fails too, and raising here would hide
        the error that brought us here.
        """
        cudart, self._cudart = self._cudart, None
        self._context = None  # the context goes before the engine, the engine before the runtime
        self._engine = None
        self.__dict__.pop("_runtime", None)
        self._host_in = self._host_out = None  # drop the numpy views before their pinned memory is freed
        if cudart is None:
            return
        releases = [(cudart.cudaStreamSynchronize, self._stream)] if self._stream is not None else []
        releases += [(cudart.cudaEventDestroy, event) for event in self._events]
        releases += [(cudart.cudaFree, pointer) for pointer in self._device.values()]
        releases += [(cudart.cudaFreeHost, pointer) for pointer in self._pinned_pointers]
        if self._stream is not None:
            releases.append((cudart.cudaStreamDestroy, self._stream))
        self._stream, self._events, self._device, self._pinned_pointers = None, [], {}, []
        for release, handle in releases:
            with contextlib.suppress(Exception):  # see the docstring: never mask the original error
                release(handle)
