"""bench.json: the typed, versioned record of one `vireid bench`, written by the bench and read back by its
report and by `backend="auto"` (docs/architecture.md, "Runtime and bench").

It lives in the torch-free runtime because `auto` reads it in deployment images. Readers get dataclasses back
(`records.py`), never nested dicts read by string keys; a file of another format is refused in one line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vireid_runtime.errors import ArtifactError
from vireid_runtime.machine import Machine
from vireid_runtime.parity import ParityFigures
from vireid_runtime.records import build

BENCH_FILE = "bench.json"
FORMAT = "vireid-bench/4"
"""2: parity rows carry the tail (1st-percentile cosine, images below the bar). 3: a parity row holds the cosine
figures as one `ParityFigures`, the record the export's gate writes, instead of a copy of its fields. 4: serving
rows (a remote backend against client concurrency, with the server's own times) and their settings."""
READABLE_FORMATS = ("vireid-bench/1", "vireid-bench/2", "vireid-bench/3", FORMAT)
"""A /1 or /2 bench.json is read by moving each row's cosine fields into its figures (/1: no tail, None); /3 and
older have no serving rows, and read with none."""
PRE_FIGURES = ("vireid-bench/1", "vireid-bench/2")
COSINE_FIELDS = ("images", "cos_min", "cos_mean", "max_abs_diff", "norm_min", "norm_max", "bar", "cos_p01", "below")
"""The fields of a /1 or /2 parity row that /3 keeps in `ParityRow.figures`."""
FIX = "re-run `vireid bench` with this vireid"


@dataclass(frozen=True)
class Timing:
    """Percentiles over the timed runs of one batch size, and the throughput their mean gives."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    images_per_s: float
    runs: int


@dataclass(frozen=True)
class LatencyRow:
    backend: str
    precision: str
    modality: str
    batch: int
    compute: Timing
    """Inference on a prepared batch (CUDA events on GPUs)."""
    end_to_end: Timing
    """Decoded images to embeddings: preprocessing and copies included."""


@dataclass(frozen=True)
class ServerTime:
    """What the server's statistics extension counted during one serving measurement (differences of two
    readings of `/v2/models/{model}/stats`), per request."""

    requests: int
    executions: int
    """Model executions: fewer than requests when dynamic batching merged them."""
    queue_ms: float
    """Mean wait in the scheduler's queue."""
    compute_ms: float
    """Mean input copy + inference + output copy, as the server timed them."""


@dataclass(frozen=True)
class ServingRow:
    """A remote backend under load: `concurrency` clients, each sending requests of `batch` images back to back."""

    backend: str
    precision: str
    modality: str
    model: str
    """The served model's name."""
    batch: int
    concurrency: int
    client: Timing
    """Per request, as one client saw it (network, queue and compute); its images/s is one client's."""
    images_per_s: float
    """All clients together: images answered over the measurement's wall-clock time."""
    server: ServerTime


@dataclass(frozen=True)
class Retrieval:
    R1: float
    mAP: float
    mINP: float


@dataclass(frozen=True)
class RetrievalDelta:
    """A candidate's retrieval figures on one task family, and their change against the reference's."""

    R1: float
    mAP: float
    mINP: float
    dR1: float
    dmAP: float
    dmINP: float


@dataclass(frozen=True)
class ParityRow:
    backend: str
    precision: str
    files: dict[str, str]
    figures: ParityFigures
    """Cosine figures over every evaluation image, judged against the bar this backend x precision is held to
    (the export's for its artifact; bf16: the fp16 bar)."""
    retrieval_ok: bool
    """Rank-1 and mAP within the bench's retrieval bar of the reference on every task family."""
    splits: dict[str, RetrievalDelta]

    @property
    def cosine_ok(self) -> bool:
        return self.figures.passed

    @property
    def passed(self) -> bool:
        return self.cosine_ok and self.retrieval_ok


@dataclass(frozen=True)
class Skipped:
    backend: str
    precision: str
    reason: str


@dataclass(frozen=True)
class Settings:
    batches: tuple[int, ...]
    runs: int
    warmup: int
    latency_modalities: tuple[str, ...]
    input: str
    """H x W."""
    device: str
    threads: int | None = None
    serving_batches: tuple[int, ...] = ()
    """Batch sizes of the serving measurement (remote backends)."""
    concurrency: tuple[int, ...] = ()
    """Client counts of the serving measurement."""
    triton_url: str = ""


@dataclass(frozen=True)
class Environment:
    machine: Machine
    platform: str
    python: str
    versions: dict[str, str]
    """Installed versions of numpy, torch, onnxruntime(-gpu), openvino and tensorrt; absent ones are left out."""
    onnxruntime_providers: tuple[str, ...]
    torch_threads: int
    omp_num_threads: str
    cuda_available: bool
    gpu_driver: str = ""
    gpu_memory: str = ""


@dataclass(frozen=True)
class BenchResult:
    created: str
    artifacts: str
    manifest_created: str
    """The export it measured (manifest `created`): `auto` ignores a bench of an earlier export."""
    dataset: str
    evaluation: str
    reference: str
    settings: Settings
    environment: Environment
    skipped: tuple[Skipped, ...] = ()
    parity: tuple[ParityRow, ...] = ()
    latency: tuple[LatencyRow, ...] = ()
    """In-process timings of the local backends."""
    serving: tuple[ServingRow, ...] = ()
    """Remote backends under client concurrency (a server's compute is not timed here, so it has no latency row)."""
    reference_metrics: dict[str, Retrieval] = field(default_factory=dict)
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    def parity_of(self, backend: str, precision: str) -> ParityRow | None:
        return next((p for p in self.parity if (p.backend, p.precision) == (backend, precision)), None)


def bench_from_dict(values: object) -> BenchResult:
    if not isinstance(values, dict) or values.get("format") not in READABLE_FORMATS:
        found = values.get("format") if isinstance(values, dict) else None
        readable = " or ".join(repr(f) for f in READABLE_FORMATS)
        raise ArtifactError(f"bench.json format {found!r} is not {readable}; {FIX}")
    if values["format"] in PRE_FIGURES:
        values = {**values, "parity": [_figures_inside(row) for row in values.get("parity") or ()]}
    values = {**values, "format": FORMAT}
    result: BenchResult = build(BenchResult, values, "bench", "bench.json", FIX)
    return result


def _figures_inside(row: object) -> object:
    """A /1 or /2 parity row in the /3 shape: its cosine fields (and `cosine_ok` as `passed`) under `figures`."""
    if not isinstance(row, dict):
        return row  # `build` names what is malformed
    figures = {key: row[key] for key in COSINE_FIELDS if key in row}
    rest = {key: value for key, value in row.items() if key not in COSINE_FIELDS and key != "cosine_ok"}
    return {**rest, "figures": {**figures, "passed": row.get("cosine_ok")}}


def read_bench(path: str | Path) -> BenchResult:
    """Read and validate a bench.json (ArtifactError naming the file when it is unreadable or of another format)."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(f"{path} is unreadable or corrupt ({err}); {FIX}") from None
    try:
        return bench_from_dict(values)
    except ArtifactError as err:
        raise ArtifactError(f"{path}: {err}") from None
