"""`load_embedder(art_dir, modality, backend, precision)`: the runtime's entry point.

Which file a backend runs, and how it is built, come from the backend registry (`backends/__init__.py`);
`backend="auto"` asks `auto.py` which backend and precision to try, in order, and loads the first that runs.
A remote backend (`triton`) takes the server's URL instead of reading the file: the manifest alone is its
contract, so the graphs need not be on the client's disk.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

from vireid_runtime.backends import RUNTIME_PRECISIONS, LoadRequest, spec
from vireid_runtime.backends.triton import Endpoint
from vireid_runtime.cache import cache_dir as default_cache_dir
from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError, BackendUnavailable
from vireid_runtime.manifest import MODALITIES, Artifact, Manifest, read_manifest

AUTO = "auto"


def select_artifact(manifest: Manifest, modality: str, backend: str, precision: str) -> Artifact:
    """The file a backend runs: the artifact of that modality, of the graph precision the runtime precision needs
    (bf16 runs fp32), in the backend's format, and for int8 ONNX in the backend's int8 flavour."""
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    entry = spec(backend)
    if precision not in RUNTIME_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(RUNTIME_PRECISIONS)}, got {precision!r}")
    if precision not in entry.precisions:
        raise ValueError(f"{backend} runs {', '.join(entry.precisions)}, not {precision}")
    graph, flavour = entry.graph_precision(precision), entry.flavour(precision)
    for artifact in manifest.artifacts:
        if (artifact.modality, artifact.precision, artifact.format) != (modality, graph, entry.format):
            continue
        if flavour is None or artifact.flavour == flavour:
            return artifact
    have = ", ".join(
        sorted({f"{a.precision} {a.format} {a.flavour}".strip() for a in manifest.artifacts if a.modality == modality})
    )
    hint = "--engine trt " if entry.format == "plan" else ""
    wanted = f"{graph} {entry.format}" + (f" ({flavour})" if flavour else "")
    raise ArtifactError(
        f"no {wanted} for the {modality} branch on {backend} in this export (it has: {have}); "
        f"re-run `vireid export {hint}--precision {graph}`"
        + (" with both --int8-targets (the default)" if flavour else "")
    )


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


def _endpoint(backend: str, url: str | None, deadline_s: float | None) -> Endpoint | None:
    """The endpoint of a remote backend; ValueError where a URL is missing or given to a local backend."""
    entry = spec(backend)
    if entry.remote and url is None:
        raise ValueError(f"{backend} runs on a server: give its URL (url=, or --triton-url grpc://HOST:8001)")
    if not entry.remote and url is not None:
        raise ValueError(f"{backend} runs in this process; a server URL is for a remote backend (triton)")
    if url is None:
        return None
    return Endpoint(url) if deadline_s is None else Endpoint(url, deadline_s)


def _load_one(
    art_dir: Path,
    manifest: Manifest,
    modality: str,
    backend: str,
    precision: str,
    threads: int | None,
    device: int,
    cache_dir: Path | None,
    endpoint: Endpoint | None = None,
) -> Embedder:
    entry = spec(backend)
    artifact = select_artifact(manifest, modality, backend, precision)
    request = LoadRequest(
        artifact=artifact,
        # a server runs its own copy of the graph; the client needs only the manifest
        path=art_dir / artifact.file if entry.remote else artifact_path(art_dir, artifact),
        manifest=manifest,
        precision=precision,
        threads=threads,
        device=device,
        cache_dir=cache_dir or default_cache_dir(backend),
        endpoint=endpoint,
    )
    return entry.factory(request)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def load_embedder(
    art_dir: str | Path,
    modality: str,
    backend: str = "ort-cpu",
    precision: str | None = None,
    *,
    threads: int | None = None,
    device: int = 0,
    cache_dir: Path | None = None,
    url: str | None = None,
    deadline_s: float | None = None,
    log: Callable[[str], None] = _stderr,
) -> Embedder:
    """Load one branch of an export on one backend (`backends.names()`), or on `"auto"`.

    `precision`: fp32, fp16, bf16 or int8, as the backend offers; None means fp32, or with `auto` whatever auto
    finds fastest. `auto` picks the fastest backend and precision that passed its parity bar in a bench.json of
    this machine in ART_DIR, else the first that runs in `backends.AUTO_ORDER`; its choice and the evidence are
    one line to `log` (stderr by default) and `embedder.choice`. `device` is the GPU index for GPU backends;
    `cache_dir` where the backend keeps compiled engines (default: its user cache folder, never ART_DIR, which
    may be read-only). `url`: the server of a remote backend (`triton`: grpc://HOST:PORT, or http://HOST:PORT),
    whose every call waits at most `deadline_s` (default `backends.triton.DEFAULT_DEADLINE_S`).

    Raises ValueError for bad arguments, ArtifactError for missing or incompatible files, and
    BackendUnavailable when the backend cannot run here (no silent fallback to another one; `auto` is the one
    that tries the next).
    """
    art_dir = Path(art_dir)
    manifest = read_manifest(art_dir)
    if backend != AUTO:
        endpoint = _endpoint(backend, url, deadline_s)
        return _load_one(
            art_dir, manifest, modality, backend, precision or "fp32", threads, device, cache_dir, endpoint
        )
    from vireid_runtime.auto import plan_auto

    if url is not None:
        raise ValueError("auto picks among the backends that run here; a server URL is for backend='triton'")
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    if precision is not None and precision not in RUNTIME_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(RUNTIME_PRECISIONS)}, got {precision!r}")
    plan = plan_auto(art_dir, manifest, modality, precision)
    refused: list[str] = []
    for option in plan.options:
        try:
            embedder = _load_one(
                art_dir, manifest, modality, option.backend, option.precision, threads, device, cache_dir
            )
        except (BackendUnavailable, ArtifactError, ValueError) as err:
            refused.append(f"{option.backend} {option.precision}: {str(err).removeprefix(option.backend + ': ')}")
            continue
        embedder.choice = plan.describe(option, refused)
        log(embedder.choice)
        return embedder
    raise BackendUnavailable(f"auto: nothing runs the {modality} branch here ({'; '.join(refused)})")
