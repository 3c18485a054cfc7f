"""vireid_runtime: torch-free inference on exported branches (ONNX Runtime and TensorRT), preprocessing, timing.

This package ships in deployment images with numpy, pillow and onnxruntime only (TensorRT and cuda-python are
optional); it never imports torch or vireid (import-linter enforces it, and a test imports it with torch
blocked).

    from vireid_runtime import load_embedder
    embedder = load_embedder("artifacts/", "infrared", backend="ort-cpu", precision="int8")
    features = embedder.embed(embedder.preprocess(images))
"""

from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError, BackendUnavailable, RuntimeUserError
from vireid_runtime.load import BACKENDS, load_embedder, select_artifact
from vireid_runtime.manifest import Manifest, read_manifest

__all__ = [
    "BACKENDS",
    "ArtifactError",
    "BackendUnavailable",
    "Embedder",
    "Manifest",
    "RuntimeUserError",
    "load_embedder",
    "read_manifest",
    "select_artifact",
]
