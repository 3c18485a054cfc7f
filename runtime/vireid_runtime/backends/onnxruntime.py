"""ONNX Runtime backends: ort-cpu, ort-cuda and ort-trt (execution providers).

Why it is written this way (docs/architecture.md, "Runtime and bench"):
- A GPU backend runs on the GPU or not at all. onnxruntime-gpu lists the CUDA and TensorRT providers even on
  machines without a GPU and then quietly runs on the CPU; and a node no GPU provider takes would silently run
  on the CPU too. So GPU sessions set `session.disable_cpu_ep_fallback`, the session's providers are checked,
  and a graph that still needs the CPU fails in one line naming its nodes (found from a profiled run).
- ort-trt registers TensorRT and then CUDA: subgraphs TensorRT refuses run on the GPU through CUDA, not on the
  CPU.
- Precision is not an option: it lives in the graph (fp16 tensors, Q/DQ nodes), and ONNX Runtime builds a
  strongly typed TensorRT network only when its precision flags are both off, so TensorRT runs exactly the
  graph that passed the export's gate (docs/architecture.md, "Precisions").
- TensorRT's engine cache goes to a user cache folder (`cache.py`), never into ART_DIR, which may be
  read-only in a deployment image.
- Compute timing binds input and output to device memory (IOBinding), so host<->device copies stay out of it,
  as they do for the native `trt` backend; end-to-end timing (the bench's) keeps them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vireid_runtime.backends import BACKENDS
from vireid_runtime.cache import cache_dir as default_cache_dir
from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError, BackendUnavailable
from vireid_runtime.manifest import Artifact, BatchRange, InputSpec, OutputSpec

PROVIDERS = {
    "ort-cpu": "CPUExecutionProvider",
    "ort-cuda": "CUDAExecutionProvider",
    "ort-trt": "TensorrtExecutionProvider",
}
GPU_BACKENDS = tuple(name for name in PROVIDERS if BACKENDS[name].gpu)
NO_CPU_FALLBACK = "session.disable_cpu_ep_fallback"
NODES_REFUSED = "fallback to CPU EP has been explicitly disabled"  # nodes no started GPU provider takes
PROVIDER_FAILED = "Conflicting session configuration"
"""What onnxruntime's Python retry raises: a GPU provider failed to start, and the retry (on its default
[CUDA, CPU] list, without our options) re-added the CPU provider that the session forbids."""
MAX_NAMED_NODES = 6


def missing_provider(backend: str) -> str | None:
    """Why this onnxruntime build cannot offer `backend`'s provider, or None (the registry's probe).

    onnxruntime-gpu lists its GPU providers even where no GPU exists; only loading tells, and refuses then.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed: pip install onnxruntime-gpu (or onnxruntime)"
    provider = PROVIDERS[backend]
    if provider in ort.get_available_providers():
        return None
    return (
        f"{backend}: this onnxruntime build has no {provider} "
        f"(it has {', '.join(ort.get_available_providers())}); install onnxruntime-gpu on a CUDA machine"
    )


def _cuda_options(device: int) -> dict[str, Any]:
    return {"device_id": device, "cudnn_conv_algo_search": "EXHAUSTIVE"}


def _tensorrt_options(input_spec: InputSpec, batch: BatchRange, cache_dir: Path, device: int) -> dict[str, Any]:
    shape = f"{input_spec.channels}x{input_spec.height}x{input_spec.width}"
    return {
        "device_id": device,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(cache_dir),
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(cache_dir),
        "trt_max_workspace_size": 4 << 30,
        "trt_profile_min_shapes": f"{input_spec.name}:{batch.min}x{shape}",
        "trt_profile_opt_shapes": f"{input_spec.name}:{batch.opt}x{shape}",
        "trt_profile_max_shapes": f"{input_spec.name}:{batch.max}x{shape}",
    }


def providers(
    backend: str, input_spec: InputSpec, batch: BatchRange, cache_dir: Path, device: int = 0
) -> list[tuple[str, dict[str, Any]]]:
    """The (provider, options) list a backend's session is created with, in priority order."""
    if backend == "ort-cuda":
        return [(PROVIDERS["ort-cuda"], _cuda_options(device))]
    if backend == "ort-trt":
        return [
            (PROVIDERS["ort-trt"], _tensorrt_options(input_spec, batch, cache_dir, device)),
            (PROVIDERS["ort-cuda"], _cuda_options(device)),
        ]
    return [(PROVIDERS["ort-cpu"], {})]


def session_options(backend: str, threads: int | None = None, *, cpu_fallback: bool = False) -> Any:
    """Full graph optimisation; for GPU backends no fallback to the CPU unless `cpu_fallback` (diagnosis only)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Placement and provider problems are reported by this module in one line; for GPU sessions ONNX Runtime's
    # own ERROR lines about them would only repeat it on stderr.
    options.log_severity_level = 4 if backend in GPU_BACKENDS else 3
    if threads:
        options.intra_op_num_threads = threads
    if backend in GPU_BACKENDS and not cpu_fallback:
        options.add_session_config_entry(NO_CPU_FALLBACK, "1")
    return options


def _session(path: Path, options: Any, session_providers: list[tuple[str, dict[str, Any]]]) -> Any:
    """An InferenceSession; onnxruntime prints an "EP Error" box on stdout when a GPU provider fails to start
    and it retries without it, which the one-line refusal replaces."""
    import onnxruntime as ort

    with contextlib.redirect_stdout(io.StringIO()):
        return ort.InferenceSession(os.fspath(path), sess_options=options, providers=session_providers)


def nodes_by_provider(profile: Path) -> dict[str, list[str]]:
    """Node names per execution provider, from an ONNX Runtime profile (JSON trace) of at least one run."""
    events = json.loads(profile.read_text())
    placed: dict[str, list[str]] = {}
    for event in events:
        args = event.get("args") or {}
        if event.get("cat") != "Node" or "provider" not in args:
            continue
        node = str(event.get("name", "")).removesuffix("_kernel_time")
        names = placed.setdefault(str(args["provider"]), [])
        if node and node not in names:
            names.append(node)
    return placed


def placement(
    path: Path, backend: str, session_providers: list[tuple[str, dict[str, Any]]], batch: np.ndarray
) -> tuple[list[str], list[str]]:
    """What ONNX Runtime would do with `path` for `backend` if the CPU fallback were allowed: the providers it
    starts, and the nodes it places on the CPU (from one profiled run)."""

    with tempfile.TemporaryDirectory(prefix="vireid-placement-") as scratch:
        options = session_options(backend, cpu_fallback=True)
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(scratch, "placement")
        session = _session(path, options, session_providers)
        session.run(None, {session.get_inputs()[0].name: batch})
        profile = Path(session.end_profiling())
        return list(session.get_providers()), nodes_by_provider(profile).get(PROVIDERS["ort-cpu"], [])


def placement_refusal(backend: str, file: str, started: list[str], on_cpu: list[str], finding: str = "") -> str:
    """The one line for a GPU session that would need the CPU: the provider did not start (with what cuda-python
    found, if anything), or these nodes."""
    provider = PROVIDERS[backend]
    if provider not in started:
        why = finding or "no usable GPU, or its CUDA / cuDNN / TensorRT libraries are missing"
        return f"{backend}: ONNX Runtime could not start {provider} here ({why}); refusing to run on the CPU instead"
    if not on_cpu:  # the profiled diagnosis could not say which
        return f"{backend}: {file} needs the CPU for nodes no GPU provider takes; refusing to run them there"
    listed = ", ".join(on_cpu[:MAX_NAMED_NODES])
    if len(on_cpu) > MAX_NAMED_NODES:
        listed += f" and {len(on_cpu) - MAX_NAMED_NODES} more"
    return (
        f"{backend}: {len(on_cpu)} nodes of {file} would run on the CPU ({listed}); no GPU provider of "
        f"{', '.join(started)} takes them. Refusing to run them there"
    )


def gpu_finding(device: int) -> str:
    """What cuda-python says against GPU `device`, or "" (usable, or cuda-python absent). Only used to explain a
    provider that did not start: cuda-python may need a newer driver than the onnxruntime-gpu build does, so it
    must not veto a session that ONNX Runtime can run."""
    from vireid_runtime.cuda import NoUsableGpu, import_cudart, query_gpu

    try:
        query_gpu(import_cudart(), device)
    except ImportError:
        return ""
    except NoUsableGpu as err:
        return str(err)
    return ""


class OrtEmbedder(Embedder):
    def __init__(
        self,
        artifact: Artifact,
        path: Path,
        input_spec: InputSpec,
        output_spec: OutputSpec,
        batch: BatchRange,
        backend: str,
        threads: int | None = None,
        *,
        device: int = 0,
        cache_dir: Path | None = None,
    ) -> None:
        super().__init__(artifact, path, input_spec, output_spec, max_batch=batch.max)
        self.backend = backend
        self.device = device
        self._batch_min = batch.min
        provider = PROVIDERS[backend]
        missing = missing_provider(backend)  # also where onnxruntime itself is missing
        if missing:
            raise BackendUnavailable(missing)
        import onnxruntime as ort

        if backend in GPU_BACKENDS:
            ort.set_default_logger_severity(4)  # failures are reported below in one line, not as log noise
        cache = (cache_dir or default_cache_dir(backend)) / (artifact.sha256[:16] or path.stem)
        if backend == "ort-trt":
            try:
                cache.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise BackendUnavailable(
                    f"ort-trt: cannot create its engine cache {cache} ({err.strerror}); set VIREID_CACHE to a "
                    "writable folder"
                ) from None
        self._providers = providers(backend, input_spec, batch, cache, device)
        try:
            self.session = _session(path, session_options(backend, threads), self._providers)
        except Exception as err:  # onnxruntime raises its own Fail / InvalidGraph types
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            if PROVIDER_FAILED in str(err):
                finding = gpu_finding(device)
                raise BackendUnavailable(placement_refusal(backend, path.name, [], [], finding)) from None
            if NODES_REFUSED in str(err):
                raise BackendUnavailable(self._placement_message(path)) from None
            raise ArtifactError(f"ONNX Runtime cannot load {path}: {first}") from None
        given = self.session.get_providers()
        if not given or given[0] != provider:
            raise BackendUnavailable(
                f"{backend}: asked ONNX Runtime for {provider} but it gave {', '.join(given)} "
                "(no usable GPU or CUDA/TensorRT libraries here); refusing to run on the CPU instead"
            )
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def _placement_message(self, path: Path) -> str:
        spec = self.input_spec
        probe = np.zeros((self._batch_min, spec.channels, spec.height, spec.width), dtype=np.float32)
        try:
            started, on_cpu = placement(path, self.backend, self._providers, probe)
        except Exception:  # the diagnosis is best effort; the refusal stands without it
            started, on_cpu = [], []
        finding = gpu_finding(self.device) if PROVIDERS[self.backend] not in started else ""
        return placement_refusal(self.backend, path.name, started, on_cpu, finding)

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        (output,) = self.session.run([self.output_name], {self.input_name: batch})
        return np.asarray(output)

    def time_compute(self, batch: np.ndarray, warmup: int, runs: int) -> list[float]:
        """Seconds per run with input and output bound to the session's device (IOBinding): the copies are
        made once, outside the timed runs, so GPU figures hold the GPU's work and nothing else."""
        import onnxruntime as ort

        device_type = "cuda" if self.backend in GPU_BACKENDS else "cpu"
        bindings = []
        for chunk in self.chunks(self.validate(batch)):
            binding = self.session.io_binding()
            value = ort.OrtValue.ortvalue_from_numpy(chunk, device_type, self.device)
            binding.bind_ortvalue_input(self.input_name, value)
            binding.bind_output(self.output_name, device_type, self.device)
            bindings.append((binding, value))  # the OrtValue must outlive its binding

        def run_once() -> None:
            for binding, _value in bindings:
                self.session.run_with_iobinding(binding)
                binding.synchronize_outputs()

        for _ in range(warmup):
            run_once()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            run_once()
            times.append(time.perf_counter() - start)
        return times

    def _release(self) -> None:
        self.__dict__.pop("session", None)
