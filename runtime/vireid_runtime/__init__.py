"""vireid_runtime: torch-free inference on exported branches (ONNX Runtime, OpenVINO, TensorRT), preprocessing,
timing, and `backend="auto"`.

This package ships in deployment images with numpy, pillow and onnxruntime (OpenVINO, TensorRT and cuda-python
are optional); it never imports torch or vireid (import-linter enforces it, and a test imports it with torch
blocked). The backends it knows are listed in `vireid_runtime.backends` (the registry).

    from vireid_runtime import load_embedder
    embedder = load_embedder("artifacts/", "infrared", backend="auto")   # or "ort-cpu", "openvino", "trt", ...
    features = embedder.embed(embedder.preprocess(images))
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vireid_runtime.backends import names as backend_names
    from vireid_runtime.embedder import Embedder
    from vireid_runtime.errors import ArtifactError, BackendUnavailable, RuntimeUserError
    from vireid_runtime.load import AUTO, load_embedder, select_artifact
    from vireid_runtime.manifest import Manifest, read_manifest

_HOME = {
    "backend_names": ("vireid_runtime.backends", "names"),
    "Embedder": ("vireid_runtime.embedder", "Embedder"),
    "ArtifactError": ("vireid_runtime.errors", "ArtifactError"),
    "BackendUnavailable": ("vireid_runtime.errors", "BackendUnavailable"),
    "RuntimeUserError": ("vireid_runtime.errors", "RuntimeUserError"),
    "AUTO": ("vireid_runtime.load", "AUTO"),
    "load_embedder": ("vireid_runtime.load", "load_embedder"),
    "select_artifact": ("vireid_runtime.load", "select_artifact"),
    "Manifest": ("vireid_runtime.manifest", "Manifest"),
    "read_manifest": ("vireid_runtime.manifest", "read_manifest"),
}
"""The public names and their modules, imported on first use: `vireid --help` reads the backend registry
(`vireid_runtime.backends`) for its option help, and must not pay for numpy and Pillow to do so."""


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'vireid_runtime' has no attribute {name!r}")
    module, attribute = _HOME[name]
    return getattr(importlib.import_module(module), attribute)


__all__ = [
    "AUTO",
    "ArtifactError",
    "BackendUnavailable",
    "Embedder",
    "Manifest",
    "RuntimeUserError",
    "backend_names",
    "load_embedder",
    "read_manifest",
    "select_artifact",
]
