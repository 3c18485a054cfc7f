"""The bench as an importable function: artifacts + dataset in; bench.json, bench.md and bench.png out.

The torch reference is rebuilt from the run directory the manifest records (or `run_dir`); without one,
parity is measured against the fp32 ONNX on ONNX Runtime's CPU provider, and the report says so. A backend
that cannot run here (no GPU, no TensorRT, a precision the export lacks, no server URL for a remote one) is listed
as skipped with the reason, and the bench goes on. A remote backend's parity rows are the same as every backend's;
its timing is the serving view (`serving.py`) instead of in-process latency rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from vireid.bench import ALL_BACKENDS
from vireid.bench.environment import fingerprint
from vireid.bench.latency import measure
from vireid.bench.parity import Embeddings, compare, embed_split, retrieval
from vireid.bench.serving import serving_rows
from vireid.data.images import load_image
from vireid.data.sample import MODALITIES, Modality
from vireid.errors import VireidError
from vireid.eval.splits import EvaluationSplit, evaluation_split
from vireid.progress import log as default_log
from vireid_runtime.backends import BACKENDS, RUNTIME_PRECISIONS
from vireid_runtime.bench_result import (
    BenchResult,
    LatencyRow,
    ParityRow,
    Retrieval,
    ServingRow,
    Settings,
    Skipped,
)
from vireid_runtime.manifest import PRECISIONS
from vireid_runtime.parity import BARS, Bar

if TYPE_CHECKING:
    from vireid_runtime.embedder import Embedder

GPU_BACKENDS = tuple(name for name, entry in BACKENDS.items() if entry.gpu)
NO_SERVER = "runs on a server: pass --triton-url grpc://HOST:8001 (`vireid-triton-host ART_DIR` serves this export)"


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


def branches(choice: str) -> tuple[Modality, ...]:
    """What `--branch` names: "visible", "infrared" or "both" (the two, visible first)."""
    if choice == "both":
        return MODALITIES
    for modality in MODALITIES:
        if choice == modality:
            return (modality,)
    raise VireidError(f"--branch must be visible, infrared or both, not {choice!r}")


@dataclass(frozen=True)
class BenchOptions:
    backends: tuple[str, ...] = ALL_BACKENDS
    precisions: tuple[str, ...] | None = None
    """None: every precision the export holds, and each backend's own modes of them (openvino bf16)."""
    batches: tuple[int, ...] = (1, 8, 32, 64)
    runs: int = 20
    warmup: int = 3
    data: str | None = None
    run_dir: str | None = None
    latency_modalities: tuple[str, ...] = MODALITIES
    threads: int | None = None
    parity: bool = True
    device: str | None = None
    """cpu, cuda or cuda:N for the torch reference and every GPU backend; None: `default_device()`."""
    triton_url: str | None = None
    """The server of the remote backend (`triton`); without it that backend is skipped."""
    serving_batches: tuple[int, ...] = (1, 8)
    """Batch sizes of the serving view (remote backends)."""
    concurrency: tuple[int, ...] = (1, 4, 16)
    """Client counts of the serving view."""

    def __post_init__(self) -> None:
        gpu_index(self.device or "cpu")  # one clear line for a malformed --device
        self._check_serving()
        unknown = [b for b in self.backends if b not in ALL_BACKENDS]
        if unknown:
            raise VireidError(f"unknown backend {unknown[0]!r}; choose from {', '.join(ALL_BACKENDS)}")
        unknown_precisions = [p for p in self.precisions or () if p not in RUNTIME_PRECISIONS]
        if unknown_precisions:
            raise VireidError(
                f"unknown precision {unknown_precisions[0]!r}; choose from {', '.join(RUNTIME_PRECISIONS)}"
            )
        if self.runs < 1 or self.warmup < 0 or not self.batches or min(self.batches) < 1:
            raise VireidError("--runs must be >= 1, warm-up >= 0 and --batch positive sizes")

    def _check_serving(self) -> None:
        from vireid_runtime.backends.triton import Endpoint

        if min(self.serving_batches, default=0) < 1 or min(self.concurrency, default=0) < 1:
            raise VireidError("--serving-batch and --concurrency must be positive")
        if self.triton_url is None:
            return
        if not any(BACKENDS.get(name) and BACKENDS[name].remote for name in self.backends):
            raise VireidError("--triton-url is the server of the triton backend; add triton to --backends")
        try:
            Endpoint(self.triton_url)
        except ValueError as err:
            raise VireidError(f"--triton-url: {err}") from None


@dataclass
class Candidate:
    backend: str
    precision: str
    embedders: dict[str, Embedder]
    file: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.backend} {self.precision}"

    @property
    def remote(self) -> bool:
        return self.backend in BACKENDS and BACKENDS[self.backend].remote

    def embed_split(self, split: EvaluationSplit, height: int, width: int) -> Embeddings:
        """Both modalities of the evaluation split, each through its own branch."""
        visible, infrared = self.embedders["visible"], self.embedders["infrared"]
        return embed_split(visible.embed, infrared.embed, split, height, width, self.name)

    @property
    def bar(self) -> Bar:
        """The bar the export held this artifact to; for a backend's own mode of it (bf16 on the fp32 graph) or
        an artifact exported without a gate, the registry's bar of the precision."""
        embedder = self.embedders["visible"]
        parity = embedder.artifact.parity
        if parity and embedder.precision == embedder.artifact.precision:
            return parity.bar
        return BARS[self.precision]

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
        _, model = load_run(run_dir, manifest.checkpoint.weights)
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


def _precisions_for(backend: str, options: BenchOptions, exported: list[str]) -> tuple[list[str], list[Skipped]]:
    """What to bench `backend` at, and the asked precisions it has no mode for (skipped, with the reason)."""
    entry = BACKENDS[backend]
    offered = entry.precisions
    if options.precisions is None:
        return [p for p in offered if entry.graph_precision(p) in exported], []
    wanted = [p for p in options.precisions if p in offered]
    missing = [
        Skipped(backend, p, f"{backend} has no {p} mode (it runs {', '.join(offered)})")
        for p in options.precisions
        if p not in offered
    ]
    return wanted, missing


def _candidates(
    art_dir: Path,
    manifest: Any,
    options: BenchOptions,
    device: str,
    reference: Candidate,
    skipped: list[Skipped],
) -> list[Candidate]:
    from vireid_runtime import RuntimeUserError, load_embedder

    exported = [p for p in PRECISIONS if any(a.precision == p for a in manifest.artifacts)]
    out: list[Candidate] = []
    try:
        for backend in options.backends:
            if backend == "torch":
                if reference.backend == "torch":
                    out.append(reference)
                else:
                    skipped.append(Skipped("torch", "fp32", "no run directory to rebuild it"))
                continue
            gpu = gpu_index(device)
            precisions, missing = _precisions_for(backend, options, exported)
            skipped.extend(missing)
            remote = BACKENDS[backend].remote
            for precision in precisions:
                if backend in GPU_BACKENDS and gpu is None:
                    reason = "--device cpu" if options.device else "torch sees no CUDA GPU, so --device is cpu"
                    skipped.append(Skipped(backend, precision, reason))
                    continue
                if remote and options.triton_url is None:
                    skipped.append(Skipped(backend, precision, NO_SERVER))
                    continue
                embedders: dict[str, Embedder] = {}
                url = options.triton_url if remote else None
                try:
                    for m in ("visible", "infrared"):
                        embedders[m] = load_embedder(
                            art_dir, m, backend, precision, threads=options.threads, device=gpu or 0, url=url
                        )
                except RuntimeUserError as err:
                    for loaded in embedders.values():  # a GPU embedder holds device memory until closed
                        loaded.close()
                    reason = str(err).removeprefix(f"{backend} {precision}: ").removeprefix(f"{backend}: ")
                    skipped.append(Skipped(backend, precision, reason))  # the row names them already
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


def _parity(
    reference: Candidate, candidates: list[Candidate], images: EvaluationSplit, height: int, width: int
) -> tuple[dict[str, Retrieval], list[ParityRow]]:
    """The reference's retrieval figures, and each candidate's parity row against it on every image."""
    ref_embeddings = reference.embed_split(images, height, width)
    rows = [
        compare(
            ref_embeddings,
            candidate.embed_split(images, height, width),
            images,
            candidate.bar,
            backend=candidate.backend,
            precision=candidate.precision,
            files=candidate.file,
        )
        for candidate in candidates
    ]
    return retrieval(ref_embeddings, images), rows


def _latency(candidates: list[Candidate], images: EvaluationSplit, options: BenchOptions, log: Any) -> list[LatencyRow]:
    """Compute and end-to-end timings per modality x local candidate x batch size."""
    rows = []
    for modality in options.latency_modalities:
        pictures = _latency_images(images, modality, max(options.batches))
        for candidate in candidates:
            if candidate.remote:
                continue
            for batch in options.batches:
                log(f"latency {candidate.name} {modality} batch {batch}")
                embedder = candidate.embedders[modality]
                compute, end_to_end = measure(embedder, pictures, batch, options.warmup, options.runs)
                rows.append(LatencyRow(candidate.backend, candidate.precision, modality, batch, compute, end_to_end))
    return rows


def _serving(candidates: list[Candidate], images: EvaluationSplit, options: BenchOptions, log: Any) -> list[ServingRow]:
    """The serving view of every remote candidate, per modality."""
    from vireid_runtime.backends.triton import TritonEmbedder

    rows = []
    for modality in options.latency_modalities:
        pictures = _latency_images(images, modality, max(options.serving_batches))
        for candidate in candidates:
            embedder = candidate.embedders[modality]
            if candidate.remote and isinstance(embedder, TritonEmbedder):
                batches, clients = options.serving_batches, options.concurrency
                rows += serving_rows(embedder, pictures, batches, clients, options.warmup, options.runs, log)
    return rows


def run_bench(art_dir: str | Path, options: BenchOptions = BenchOptions(), log: Any = default_log) -> BenchResult:
    """Run parity and latency for every requested backend x precision; returns what bench.json records."""
    from vireid_runtime import read_manifest

    art_dir = Path(art_dir)
    manifest = read_manifest(art_dir)
    root = options.data or manifest.data_root
    if not root or not Path(root).exists():
        raise VireidError(f"dataset {root or '(none recorded)'} not found; pass --data PATH")
    images = evaluation_split(root, manifest.data_trial)
    height, width = manifest.input.height, manifest.input.width
    skipped: list[Skipped] = []
    device = options.device or default_device()
    reference, reference_note = _reference(art_dir, manifest, options, device, log)
    try:
        candidates = _candidates(art_dir, manifest, options, device, reference, skipped)
    except BaseException:
        reference.close()
        raise
    parity: list[ParityRow] = []
    reference_metrics: dict[str, Retrieval] = {}
    try:
        if options.parity:
            log(f"parity on {images.description} ({len(images.visible) + len(images.infrared)} images)")
            reference_metrics, parity = _parity(reference, candidates, images, height, width)
        latency = _latency(candidates, images, options, log)
        serving = _serving(candidates, images, options, log)
    finally:
        for candidate in {id(c): c for c in [reference, *candidates]}.values():
            candidate.close()
    return BenchResult(
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        artifacts=str(art_dir.resolve()),
        manifest_created=manifest.created,
        dataset=str(root),
        evaluation=images.description,
        reference=reference_note,
        settings=Settings(
            batches=tuple(options.batches),
            runs=options.runs,
            warmup=options.warmup,
            latency_modalities=tuple(options.latency_modalities),
            input=f"{height}x{width}",
            device=device,
            threads=options.threads,
            serving_batches=tuple(options.serving_batches),
            concurrency=tuple(options.concurrency),
            triton_url=options.triton_url or "",
        ),
        environment=fingerprint(),
        skipped=tuple(skipped),
        parity=tuple(parity),
        latency=tuple(latency),
        serving=tuple(serving),
        reference_metrics=reference_metrics,
    )
