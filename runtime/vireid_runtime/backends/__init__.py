"""The backend registry: every engine the runtime can run an export on, in one place.

Each entry says what the backend is called, which artifact format it reads, the precisions it offers, which
int8 graph it runs, whether it needs a GPU, how to build its embedder, and a cheap probe of whether it can run
here. `load_embedder`, `backend="auto"`, the bench, the CLI and the conformance tests all read this table, so a
new backend is one module in this package plus one entry below (docs/architecture.md, "Runtime and bench").

A remote backend (`triton`) sends its batches to a server instead of running a graph here. It is listed like the
others, so `load_embedder`, the bench and the CLI reach it by name, but it is no candidate for `auto`, for the CPU
backends the demo benches, or for the manifest's "backends that run this file": it runs no file, the server does.

Importing the registry imports no engine: factories and probes import their engine when called, so a slim image
without OpenVINO or TensorRT can still list what it lacks.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vireid_runtime.backends.triton import Endpoint
    from vireid_runtime.embedder import Embedder
    from vireid_runtime.manifest import Artifact, Manifest

RUNTIME_PRECISIONS = ("fp32", "fp16", "bf16", "int8")
"""What a backend can be asked to compute in. Artifact precisions are fp32, fp16 and int8 (manifest.PRECISIONS);
bf16 is a mode of a backend (OpenVINO's inference-precision hint) on the fp32 graph."""
GRAPH_OF = {"bf16": "fp32"}
"""The artifact precision a runtime precision runs, where they differ."""
QDQ_S8 = "qdq-s8-symmetric"
QDQ_U8S8 = "qdq-u8s8"


@dataclass(frozen=True)
class LoadRequest:
    """Everything a backend's factory gets: the chosen file, the export's contract, and the load options."""

    artifact: Artifact
    path: Path
    manifest: Manifest
    precision: str
    """The runtime precision (bf16 runs the fp32 artifact)."""
    threads: int | None
    device: int
    cache_dir: Path
    endpoint: Endpoint | None = None
    """Where a remote backend sends its requests (None for the others)."""


Factory = Callable[[LoadRequest], "Embedder"]
Probe = Callable[[], "str | None"]


@dataclass(frozen=True)
class BackendSpec:
    name: str
    format: str
    """The artifact format it reads: "onnx" or "plan"."""
    precisions: tuple[str, ...]
    int8_flavour: str
    """The int8 ONNX graph it runs ("" for plans, which carry their precision), and why, in `int8_why`."""
    int8_why: str
    gpu: bool
    engine: str
    """The Python module of its engine: without it the backend raises BackendUnavailable, never ImportError."""
    factory: Factory
    probe: Probe
    """None when a cheap check finds nothing missing, else the reason it cannot run (loading may still fail)."""
    about: str
    remote: bool = False
    """Runs on a server at an endpoint, not on a file here: never chosen by `auto`, never recorded in a manifest."""

    def graph_precision(self, precision: str) -> str:
        return GRAPH_OF.get(precision, precision)

    def flavour(self, precision: str) -> str | None:
        """The artifact flavour to select for `precision` (None: any)."""
        if self.format == "onnx" and self.graph_precision(precision) == "int8":
            return self.int8_flavour or None
        return None


def _ort(request: LoadRequest, name: str) -> Embedder:
    from vireid_runtime.backends.onnxruntime import OrtEmbedder

    manifest = request.manifest
    return OrtEmbedder(
        request.artifact,
        request.path,
        manifest.input,
        manifest.output,
        manifest.batch,
        name,
        threads=request.threads,
        device=request.device,
        cache_dir=request.cache_dir,
    )


def _ort_probe(name: str) -> Probe:
    def probe() -> str | None:
        from vireid_runtime.backends.onnxruntime import missing_provider

        return missing_provider(name)

    return probe


def _openvino(request: LoadRequest) -> Embedder:
    from vireid_runtime.backends.openvino import OpenVinoEmbedder

    manifest = request.manifest
    return OpenVinoEmbedder(
        request.artifact,
        request.path,
        manifest.input,
        manifest.output,
        manifest.batch,
        request.precision,
        threads=request.threads,
        cache_dir=request.cache_dir,
    )


def _openvino_probe() -> str | None:
    from vireid_runtime.backends.openvino import OPENVINO_MISSING

    return OPENVINO_MISSING if importlib.util.find_spec("openvino") is None else None


def _tensorrt(request: LoadRequest) -> Embedder:
    from vireid_runtime.backends.tensorrt import TensorRTEmbedder

    manifest = request.manifest
    return TensorRTEmbedder(
        request.artifact, request.path, manifest.input, manifest.output, manifest.batch, device=request.device
    )


def _tensorrt_probe() -> str | None:
    from vireid_runtime.backends.tensorrt import TRT_MISSING

    return TRT_MISSING if importlib.util.find_spec("tensorrt") is None else None


def _triton(request: LoadRequest) -> Embedder:
    from vireid_runtime.backends.triton import TritonEmbedder

    if request.endpoint is None:
        raise ValueError("the triton backend needs the server's URL (url=, or --triton-url grpc://HOST:8001)")
    return TritonEmbedder(request.artifact, request.path, request.manifest, request.precision, request.endpoint)


def _triton_probe() -> str | None:
    from vireid_runtime.backends.triton import TRITONCLIENT_MISSING

    return TRITONCLIENT_MISSING if importlib.util.find_spec("tritonclient") is None else None


BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec(
            name="ort-cpu",
            format="onnx",
            precisions=("fp32", "fp16", "int8"),
            int8_flavour=QDQ_U8S8,
            int8_why="ONNX Runtime's CPU integer kernels saturate symmetric s8 x s8 sums on AVX2; u8 activations "
            "with 7-bit weights do not, and are faster",
            gpu=False,
            engine="onnxruntime",
            factory=lambda request: _ort(request, "ort-cpu"),
            probe=_ort_probe("ort-cpu"),
            about="ONNX Runtime, CPU execution provider",
        ),
        BackendSpec(
            name="ort-cuda",
            format="onnx",
            precisions=("fp32", "fp16", "int8"),
            int8_flavour=QDQ_S8,
            int8_why="the symmetric graph TensorRT consumes; CUDA runs its Q/DQ as float",
            gpu=True,
            engine="onnxruntime",
            factory=lambda request: _ort(request, "ort-cuda"),
            probe=_ort_probe("ort-cuda"),
            about="ONNX Runtime, CUDA execution provider",
        ),
        BackendSpec(
            name="ort-trt",
            format="onnx",
            precisions=("fp32", "fp16", "int8"),
            int8_flavour=QDQ_S8,
            int8_why="TensorRT takes symmetric s8 Q/DQ only",
            gpu=True,
            engine="onnxruntime",
            factory=lambda request: _ort(request, "ort-trt"),
            probe=_ort_probe("ort-trt"),
            about="ONNX Runtime, TensorRT execution provider (then CUDA)",
        ),
        BackendSpec(
            name="trt",
            format="plan",
            precisions=("fp32", "fp16", "int8"),
            int8_flavour="",
            int8_why="a plan carries its precision; int8 plans are built from the symmetric graph",
            gpu=True,
            engine="tensorrt",
            factory=_tensorrt,
            probe=_tensorrt_probe,
            about="native TensorRT plan (`vireid export --engine trt`)",
        ),
        BackendSpec(
            name="openvino",
            format="onnx",
            precisions=("fp32", "bf16", "int8"),
            int8_flavour=QDQ_U8S8,
            int8_why="measured on both graphs: on AVX2 without VNNI OpenVINO's int8 kernels lose the symmetric "
            "graph's accuracy (cos min 0.89) and the u8s8 graph is also the faster of the two",
            gpu=False,
            engine="openvino",
            factory=_openvino,
            probe=_openvino_probe,
            about="OpenVINO on the CPU (fp32, bf16 where the CPU has it, int8)",
        ),
        BackendSpec(
            name="triton",
            format="onnx",
            precisions=("fp32", "fp16", "bf16", "int8"),
            int8_flavour="",
            int8_why="the server runs the int8 graph of its instances (u8s8 on CPUs, s8 on GPUs); both share the "
            "int8 bar, so the client takes either",
            gpu=False,
            engine="tritonclient",
            factory=_triton,
            probe=_triton_probe,
            about="a Triton server (`vireid-triton-host`, or tritonserver on `vireid deploy triton`'s repository), "
            "model {branch}-{precision}, over gRPC or HTTP",
            remote=True,
        ),
    )
}
AUTO_ORDER = ("trt", "ort-trt", "ort-cuda", "openvino", "ort-cpu")
"""What `backend="auto"` tries without a bench of this machine: fastest first, as they usually rank (every local
backend; a remote one is never auto's choice)."""


def names() -> tuple[str, ...]:
    return tuple(BACKENDS)


def spec(name: str) -> BackendSpec:
    """The entry for `name`; ValueError naming the choices otherwise."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)} or auto, got {name!r}")
    return BACKENDS[name]


def cpu_backends() -> tuple[str, ...]:
    """The local backends that run on a CPU (remote ones run wherever their server is)."""
    return tuple(name for name, entry in BACKENDS.items() if not entry.gpu and not entry.remote)


def backends_for(fmt: str, precision: str, flavour: str) -> tuple[str, ...]:
    """The backends that run an artifact of this format, precision and flavour (what the manifest records): local
    ones only, since a server decides for itself what it runs a model on."""
    return tuple(
        entry.name
        for entry in BACKENDS.values()
        if not entry.remote
        and entry.format == fmt
        and any(entry.graph_precision(p) == precision for p in entry.precisions)
        and (entry.flavour(precision) in (None, flavour))
    )
