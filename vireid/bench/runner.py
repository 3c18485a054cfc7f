"""The bench as an importable function: artifacts + dataset in; bench.json, bench.md and bench.png out.

The torch reference is rebuilt from the run directory the manifest records (or `run_dir`); without one,
parity is measured against the fp32 ONNX on ONNX Runtime's CPU provider, and the report says so. A backend
that cannot run here (no GPU, no TensorRT, a precision the export lacks) is listed as skipped with the
reason, and the bench goes on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from vireid.bench.environment import fingerprint
from vireid.bench.latency import measure
from vireid.bench.parity import Embeddings, compare, embed_split, retrieval
from vireid.data.images import load_image
from vireid.errors import VireidError
from vireid.eval.splits import EvaluationSplit, evaluation_split
from vireid.progress import log as default_log

if TYPE_CHECKING:
    from vireid_runtime.embedder import Embedder
    from vireid_runtime.parity import Bar

ALL_BACKENDS = ("torch", "ort-cpu", "ort-cuda", "ort-trt", "trt")
GPU_BACKENDS = ("ort-cuda", "ort-trt", "trt")


def default_device() -> str:
    """cuda when torch sees a GPU, else cpu."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def gpu_index(device: str) -> int | None:
    """The GPU a device string names (None for cpu); VireidError for anything but cpu, cuda or cuda:N."""
    from vireid_runtime.cuda import parse_device

    if device == "cpu":
        return None
    try:
        return parse_device(device)
    except ValueError as err:
        raise VireidError(f"--device: {err}") from None


def _check_torch_device(device: str) -> None:
    import torch

    index = gpu_index(device)
    if index is None:
        return
    if not torch.cuda.is_available():
        raise VireidError(f"--device {device}: torch sees no CUDA GPU here; pass --device cpu")
    if index >= torch.cuda.device_count():
        raise VireidError(f"--device {device}: torch sees {torch.cuda.device_count()} GPU(s) here")


@dataclass(frozen=True)
class BenchOptions:
    backends: tuple[str, ...] = ALL_BACKENDS
    precisions: tuple[str, ...] | None = None
    """None: every precision the export holds."""
    batches: tuple[int, ...] = (1, 8, 32, 64)
    runs: int = 20
    warmup: int = 3
    data: str | None = None
    run_dir: str | None = None
    latency_modalities: tuple[str, ...] = ("visible", "infrared")
    threads: int | None = None
    parity: bool = True
    device: str | None = None
    """cpu, cuda or cuda:N for the torch reference and every GPU backend; None: `default_device()`."""

    def __post_init__(self) -> None:
        gpu_index(self.device or "cpu")  # one clear line for a malformed --device
        unknown = [b for b in self.backends if b not in ALL_BACKENDS]
        if unknown:
            raise VireidError(f"unknown backend {unknown[0]!r}; choose from {', '.join(ALL_BACKENDS)}")
        if self.runs < 1 or self.warmup < 0 or not self.batches or min(self.batches) < 1:
            raise VireidError("--runs must be >= 1, warm-up >= 0 and --batch positive sizes")


@dataclass
class Candidate:
    backend: str
    precision: str
    embedders: dict[str, Embedder]
    file: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.backend} {self.precision}"

    def embed_split(self, split: EvaluationSplit, height: int, width: int) -> Embeddings:
        """Both modalities of the evaluation split, each through its own branch."""
        visible, infrared = self.embedders["visible"], self.embedders["infrared"]
        return embed_split(visible.embed, infrared.embed, split, height, width, self.name)

    @property
    def bar(self) -> Bar | None:
        """The bar the export held this artifact to (None for the reference itself)."""
        parity = self.embedders["visible"].artifact.parity
        return parity.bar if parity else None

    def close(self) -> None:
        for embedder in self.embedders.values():
            embedder.close()


def _reference(art_dir: Path, manifest: Any, options: BenchOptions, device: str, log: Any) -> tuple[Candidate, str]:
    """The torch branches of the run when it can be found, else the fp32 ONNX on the CPU provider."""
    from vireid.bench.torch_backend import TorchEmbedder
    from vireid.io.rundir import load_run
    from vireid_runtime import load_embedder

    run_dir = options.run_dir or manifest.run_dir
    if run_dir and Path(run_dir, "config.toml").is_file():
        _check_torch_device(device)
        _, model = load_run(run_dir, manifest.checkpoint.get("weights", "best"))
        torch_embedders: dict[str, Embedder] = {
            "visible": TorchEmbedder(model, "visible", Path(run_dir), device=device),
            "infrared": TorchEmbedder(model, "infrared", Path(run_dir), device=device),
        }
        return Candidate("torch", "fp32", torch_embedders, {"visible": run_dir, "infrared": run_dir}), (
            f"torch fp32 on {device}{' (TF32 off)' if device != 'cpu' else ''}, rebuilt from the run directory "
            f"{run_dir}"
        )
    log(f"run directory {run_dir or '(none recorded)'} not found: parity is against the fp32 ONNX on ort-cpu")
    embedders = {
        m: load_embedder(art_dir, m, "ort-cpu", "fp32", threads=options.threads) for m in ("visible", "infrared")
    }
    return Candidate("ort-cpu", "fp32", embedders, {m: e.artifact.file for m, e in embedders.items()}), (
        "the fp32 ONNX graph on ONNX Runtime's CPU provider (no run directory: torch reference unavailable)"
    )


def _candidates(
    art_dir: Path,
    manifest: Any,
    options: BenchOptions,
    device: str,
    reference: Candidate,
    skipped: list[dict[str, str]],
) -> list[Candidate]:
    from vireid_runtime import RuntimeUserError, load_embedder

    precisions = options.precisions or tuple(
        p for p in ("fp32", "fp16", "int8") if any(a.precision == p for a in manifest.artifacts)
    )
    out: list[Candidate] = []
    try:
        for backend in options.backends:
            if backend == "torch":
                if reference.backend == "torch":
                    out.append(reference)
                else:
                    skipped.append(
                        {"backend": "torch", "precision": "fp32", "reason": "no run directory to rebuild it"}
                    )
                continue
            gpu = gpu_index(device)
            for precision in precisions:
                if backend in GPU_BACKENDS and gpu is None:
                    reason = "--device cpu" if options.device else "torch sees no CUDA GPU, so --device is cpu"
                    skipped.append({"backend": backend, "precision": precision, "reason": reason})
                    continue
                embedders: dict[str, Embedder] = {}
                try:
                    for m in ("visible", "infrared"):
                        embedders[m] = load_embedder(
                            art_dir, m, backend, precision, threads=options.threads, device=gpu or 0
                        )
                except RuntimeUserError as err:
                    for loaded in embedders.values():  # a GPU embedder holds device memory until closed
                        loaded.close()
                    skipped.append({"backend": backend, "precision": precision, "reason": str(err)})
                    continue
                out.append(Candidate(backend, precision, embedders, {m: e.artifact.file for m, e in embedders.items()}))
    except BaseException:  # whatever was loaded holds sessions or device memory
        for candidate in out:
            if candidate is not reference:
                candidate.close()
        raise
    return out


def _latency_images(images: EvaluationSplit, modality: str, count: int) -> list[Image.Image]:
    pool = images.visible if modality == "visible" else images.infrared
    return [load_image(s.path, s.modality) for s in pool[:count]]


def run_bench(art_dir: str | Path, options: BenchOptions = BenchOptions(), log: Any = default_log) -> dict[str, Any]:
    """Run parity and latency for every requested backend x precision; returns the bench.json document."""
    from vireid_runtime import read_manifest

    art_dir = Path(art_dir)
    manifest = read_manifest(art_dir)
    root = options.data or manifest.data_root
    if not root or not Path(root).exists():
        raise VireidError(f"dataset {root or '(none recorded)'} not found; pass --data PATH")
    images = evaluation_split(root, manifest.data_trial)
    height, width = manifest.input.height, manifest.input.width
    skipped: list[dict[str, str]] = []
    device = options.device or default_device()
    reference, reference_note = _reference(art_dir, manifest, options, device, log)
    try:
        candidates = _candidates(art_dir, manifest, options, device, reference, skipped)
    except BaseException:
        reference.close()
        raise
    result: dict[str, Any] = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "artifacts": str(art_dir.resolve()),
        "dataset": str(root),
        "evaluation": images.description,
        "reference": reference_note,
        "settings": {
            "batches": list(options.batches),
            "runs": options.runs,
            "warmup": options.warmup,
            "latency_modalities": list(options.latency_modalities),
            "input": f"{height}x{width}",
            "device": device,
        },
        "environment": fingerprint(),
        "skipped": skipped,
        "parity": [],
        "latency": [],
    }
    try:
        if options.parity:
            log(f"parity on {images.description} ({len(images.visible) + len(images.infrared)} images)")
            ref_embeddings = reference.embed_split(images, height, width)
            result["reference_metrics"] = retrieval(ref_embeddings, images)
            for candidate in candidates:
                embeddings = candidate.embed_split(images, height, width)
                entry = {"backend": candidate.backend, "precision": candidate.precision, "files": candidate.file}
                result["parity"].append({**entry, **compare(ref_embeddings, embeddings, images, candidate.bar)})
        for modality in options.latency_modalities:
            pictures = _latency_images(images, modality, max(options.batches))
            for candidate in candidates:
                for batch in options.batches:
                    log(f"latency {candidate.name} {modality} batch {batch}")
                    timing = measure(candidate.embedders[modality], pictures, batch, options.warmup, options.runs)
                    result["latency"].append(
                        {
                            "backend": candidate.backend,
                            "precision": candidate.precision,
                            "modality": modality,
                            "batch": batch,
                            **timing,
                        }
                    )
    finally:
        for candidate in {id(c): c for c in [reference, *candidates]}.values():
            candidate.close()
    return result
