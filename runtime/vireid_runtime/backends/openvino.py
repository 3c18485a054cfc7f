"""OpenVINO backend (`openvino`): the CPU engine Intel deployments use, on the ONNX graphs `vireid export` writes.

Why it is written this way (docs/architecture.md, "Runtime and bench"):
- Precision is OpenVINO's inference-precision hint, always set, never left to the default: on CPUs with AMX the
  default is bf16, so an unset hint would turn "fp32" into bf16 silently. fp32 and int8 force f32 (int8 keeps its
  float layers in f32, as the export's gate measured them); bf16 asks for bf16 on the fp32 graph, only where the
  CPU reports the BF16 capability. Elsewhere OpenVINO would run f32 and call it bf16, so it is refused instead.
- int8 runs the u8s8 graph (`int8-cpu`): measured on both int8 graphs on an AVX2 CPU without VNNI, the symmetric
  s8 graph lost accuracy in OpenVINO's int8 kernels (cos min 0.89 against fp32) and the u8s8 graph was also
  faster (7.0 against 7.7 ms per image at batch 8).
- One stream with every thread (the latency hint) at every batch size, because the throughput hint (two streams
  on 2 cores) gave wrong int8 outputs in OpenVINO 2026.4 (cos min 0.07-0.19 against fp32, in some runs even on
  the u8s8 graph), and its fp32 speed-up did not hold: one request 0.54-0.61x, the batch split over two requests
  0.72x in one run and 1.19x in another (`benchmarks/openvino_hints.py`).
- Threads follow `threads` (`--threads`), like ONNX Runtime's intra-op threads.
- Compiled models are cached in the user cache folder (`cache.py`), never in ART_DIR, which may be read-only;
  a cache folder that cannot be created only costs the compile time, so it is skipped, not an error.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError, BackendUnavailable
from vireid_runtime.manifest import Artifact, BatchRange, InputSpec, OutputSpec

OPENVINO_MISSING = "OpenVINO is not installed: pip install openvino"
DEVICE = "CPU"
PRECISION_HINT = {"fp32": "f32", "int8": "f32", "bf16": "bf16"}
"""OpenVINO's inference precision per runtime precision."""


def _openvino() -> Any:
    try:
        import openvino
    except ImportError:
        raise BackendUnavailable(f"openvino: {OPENVINO_MISSING}") from None
    return openvino


@functools.lru_cache(maxsize=1)
def core() -> Any:
    """One OpenVINO Core per process: it holds the loaded plugins."""
    return _openvino().Core()


def capabilities() -> tuple[str, ...]:
    """The CPU plugin's OPTIMIZATION_CAPABILITIES (e.g. FP32, INT8, BF16): what this CPU can compute in."""
    import openvino.properties as props

    return tuple(str(item) for item in core().get_property(DEVICE, props.device.capabilities()))


def cpu_name() -> str:
    import openvino.properties as props

    return str(core().get_property(DEVICE, props.device.full_name()))


def compile_config(precision: str, threads: int | None, cache: Path | None) -> dict[str, Any]:
    """The properties a branch is compiled with (see the module docstring for each choice)."""
    import openvino.properties as props
    import openvino.properties.hint as hints

    types = {"f32": _openvino().Type.f32, "bf16": _openvino().Type.bf16}
    config: dict[str, Any] = {
        hints.performance_mode(): hints.PerformanceMode.LATENCY,
        hints.inference_precision(): types[PRECISION_HINT[precision]],
    }
    if threads:
        config[props.inference_num_threads()] = threads
    if cache is not None:
        config[props.cache_dir()] = os.fspath(cache)
    return config


def _usable_cache(cache: Path | None) -> Path | None:
    if cache is None:
        return None
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return cache if os.access(cache, os.W_OK) else None


class OpenVinoEmbedder(Embedder):
    backend = "openvino"

    def __init__(
        self,
        artifact: Artifact,
        path: Path,
        input_spec: InputSpec,
        output_spec: OutputSpec,
        batch: BatchRange,
        precision: str = "fp32",
        *,
        threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        super().__init__(artifact, path, input_spec, output_spec, max_batch=batch.max, precision=precision)
        _openvino()  # BackendUnavailable, not ImportError, where OpenVINO is missing
        if precision not in PRECISION_HINT:
            raise BackendUnavailable(f"openvino runs {', '.join(PRECISION_HINT)}, not {precision}")
        if precision == "bf16" and "BF16" not in capabilities():
            raise BackendUnavailable(
                f"openvino bf16: this CPU ({cpu_name()}) has no bf16 support (OpenVINO reports "
                f"{', '.join(capabilities())}; bf16 needs AVX-512-BF16 or AMX); use fp32 or int8"
            )
        config = compile_config(precision, threads, _usable_cache(cache_dir))
        try:
            self.compiled = core().compile_model(os.fspath(path), DEVICE, config)
        except RuntimeError as err:
            lines = [line for line in str(err).splitlines() if line.strip() and not line.startswith("Exception from")]
            raise ArtifactError(f"OpenVINO cannot load {path}: {lines[0] if lines else err}") from None
        self.request = self.compiled.create_infer_request()

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        self.request.infer({0: batch})
        return np.array(self.request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    def _release(self) -> None:
        self.__dict__.pop("request", None)
        self.__dict__.pop("compiled", None)
