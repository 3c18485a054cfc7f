"""ONNX Runtime backends: ort-cpu, ort-cuda and ort-trt (execution providers).

A requested provider must be the one ONNX Runtime actually gives: onnxruntime-gpu lists the CUDA and TensorRT
providers even on machines without a GPU and then quietly runs on the CPU, so the session's `get_providers()`
is checked and a mismatch is a loud `BackendUnavailable`, never a silent CPU fallback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError, BackendUnavailable
from vireid_runtime.manifest import Artifact, BatchRange, InputSpec, OutputSpec

PROVIDERS = {
    "ort-cpu": "CPUExecutionProvider",
    "ort-cuda": "CUDAExecutionProvider",
    "ort-trt": "TensorrtExecutionProvider",
}


def provider_options(backend: str, input_spec: InputSpec, batch: BatchRange, cache_dir: Path) -> dict[str, Any]:
    """Sensible defaults: an engine and timing cache beside the artifacts for TensorRT, and its batch profile.

    Precision is not an option here: it lives in the graph (fp16 tensors, Q/DQ nodes), and ONNX Runtime builds a
    strongly typed TensorRT network only when `trt_fp16_enable` and `trt_int8_enable` are both off, so that
    TensorRT runs exactly the graph that passed the export's gate (docs/architecture.md, "Precisions").
    """
    if backend == "ort-cuda":
        return {"device_id": 0, "cudnn_conv_algo_search": "EXHAUSTIVE"}
    if backend == "ort-trt":
        shape = f"{input_spec.channels}x{input_spec.height}x{input_spec.width}"
        return {
            "device_id": 0,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache_dir),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache_dir),
            "trt_max_workspace_size": 4 << 30,
            "trt_profile_min_shapes": f"{input_spec.name}:{batch.min}x{shape}",
            "trt_profile_opt_shapes": f"{input_spec.name}:{batch.opt}x{shape}",
            "trt_profile_max_shapes": f"{input_spec.name}:{batch.max}x{shape}",
        }
    return {}


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
    ) -> None:
        import onnxruntime as ort

        super().__init__(artifact, path, input_spec, output_spec, max_batch=batch.max)
        self.backend = backend
        provider = PROVIDERS[backend]
        if provider not in ort.get_available_providers():
            raise BackendUnavailable(
                f"{backend}: this onnxruntime build has no {provider} "
                f"(it has {', '.join(ort.get_available_providers())}); install onnxruntime-gpu on a CUDA machine"
            )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # the provider check below reports failures in one clear line
        if threads:
            options.intra_op_num_threads = threads
        cache_dir = path.parent / "ort-trt-cache"
        if backend == "ort-trt":
            cache_dir.mkdir(exist_ok=True)
        opts = provider_options(backend, input_spec, batch, cache_dir)
        try:
            self.session = ort.InferenceSession(os.fspath(path), sess_options=options, providers=[(provider, opts)])
        except Exception as err:  # onnxruntime raises its own Fail / InvalidGraph types
            raise ArtifactError(f"ONNX Runtime cannot load {path}: {str(err).splitlines()[0]}") from None
        given = self.session.get_providers()
        if not given or given[0] != provider:
            raise BackendUnavailable(
                f"{backend}: asked ONNX Runtime for {provider} but it gave {', '.join(given)} "
                "(no usable GPU or CUDA/TensorRT libraries here); refusing to run on the CPU instead"
            )
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        (output,) = self.session.run([self.output_name], {self.input_name: batch})
        return np.asarray(output)

    def close(self) -> None:
        self.__dict__.pop("session", None)
