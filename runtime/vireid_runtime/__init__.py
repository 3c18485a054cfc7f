"""vireid_runtime: torch-free inference on exported branches (ONNX Runtime, OpenVINO, TensorRT), preprocessing,
timing, and `backend="auto"`.

This package ships in deployment images with numpy, pillow and onnxruntime (OpenVINO, TensorRT and cuda-python
are optional); it never imports torch or vireid (import-linter enforces it, and a test imports it with torch
blocked). The backends it knows are listed in `vireid_runtime.backends` (the registry).

    from vireid_runtime import load_embedder
    embedder = load_embedder("artifacts/", "infrared", backend="auto")   # or "ort-cpu", "openvino", "trt", ...
    features = embedder.embed(embedder.preprocess(images))
"""

from vireid_runtime.backends import names as backend_names
from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError, BackendUnavailable, RuntimeUserError
from vireid_runtime.load import AUTO, load_embedder, select_artifact
from vireid_runtime.manifest import Manifest, read_manifest

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
