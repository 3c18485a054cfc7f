"""`load_embedder(art_dir, modality, backend, precision)`: the runtime's entry point."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError
from vireid_runtime.manifest import MODALITIES, PRECISIONS, Artifact, Manifest, read_manifest

BACKENDS = ("ort-cpu", "ort-cuda", "ort-trt", "trt")


def select_artifact(manifest: Manifest, modality: str, backend: str, precision: str) -> Artifact:
    """The file a backend runs: the artifact of that modality and precision whose manifest entry names the backend.

    The exporter records, per artifact, the backends it is meant for (docs/architecture.md, "Precisions"): a plan
    for `trt`; for int8 the unsigned-activation graph for `ort-cpu` (fastest on its integer kernels) and the
    symmetric one for TensorRT and the GPU providers.
    """
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    fmt = "plan" if backend == "trt" else "onnx"
    found = manifest.find(modality, precision, fmt, backend)
    if found is None:
        have = ", ".join(sorted({f"{a.precision} {a.format}" for a in manifest.artifacts if a.modality == modality}))
        hint = "--engine trt " if fmt == "plan" else ""
        raise ArtifactError(
            f"no {precision} {fmt} for the {modality} branch on {backend} in this export (it has: {have}); "
            f"re-run `vireid export {hint}--precision {precision}`"
        )
    return found


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_path(art_dir: Path, artifact: Artifact, verify: bool = True) -> Path:
    path = art_dir / artifact.file
    if not path.is_file():
        raise ArtifactError(f"{path} is listed in the manifest but missing; re-run `vireid export`")
    if verify and path.stat().st_size != artifact.bytes:
        raise ArtifactError(
            f"{path} has {path.stat().st_size} bytes, the manifest says {artifact.bytes}: it was modified or "
            "half-written; re-run `vireid export`"
        )
    return path


def load_embedder(
    art_dir: str | Path,
    modality: str,
    backend: str = "ort-cpu",
    precision: str = "fp32",
    *,
    threads: int | None = None,
    device: int = 0,
    cache_dir: Path | None = None,
) -> Embedder:
    """Load one branch of an export on one backend; `device` is the GPU index for GPU backends, `cache_dir`
    where ort-trt keeps its engines (default: the user cache folder, never ART_DIR, which may be read-only).

    Raises ValueError for bad arguments, ArtifactError for missing or incompatible files, and
    BackendUnavailable when the backend cannot run here (no silent fallback to another one).
    """
    art_dir = Path(art_dir)
    manifest = read_manifest(art_dir)
    artifact = select_artifact(manifest, modality, backend, precision)
    path = artifact_path(art_dir, artifact)
    if backend == "trt":
        from vireid_runtime.backends.tensorrt import TensorRTEmbedder

        return TensorRTEmbedder(artifact, path, manifest.input, manifest.output, manifest.batch, device=device)
    from vireid_runtime.backends.onnxruntime import OrtEmbedder

    return OrtEmbedder(
        artifact,
        path,
        manifest.input,
        manifest.output,
        manifest.batch,
        backend,
        threads=threads,
        device=device,
        cache_dir=cache_dir,
    )
