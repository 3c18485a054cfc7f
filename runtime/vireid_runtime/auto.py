"""`backend="auto"`: the fastest backend and precision that is still accurate, on this machine, with the evidence.

Where the evidence comes from (docs/architecture.md, "Runtime and bench"):
- A bench.json in ART_DIR, when it measured this export on this machine (same CPU model, vector extensions,
  core count and GPU): its backend x precision rows that passed their parity bar (cosine against the export's
  bar, Rank-1 / mAP within the bench's bar), fastest first by compute throughput at the largest batch size the
  bench swept, on the requested branch (or on the other one, when only that one was timed). A remote backend
  (`triton`) is never a candidate: it runs nothing here.
- Otherwise the documented order `backends.AUTO_ORDER` (trt > ort-trt > ort-cuda > openvino > ort-cpu) at fp32,
  or at the precision asked for: fp32 is the only precision that needs no measurement to trust.
  A bench.json of another format, of another machine or of an earlier export is not evidence: it is ignored,
  and the printed choice says why in one line.

The plan is a list of options; `load_embedder` loads the first that runs here and reports what it skipped, so
a bench row whose backend cannot start now (a GPU gone, a library missing) falls through to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vireid_runtime.backends import AUTO_ORDER, BACKENDS
from vireid_runtime.bench_result import BENCH_FILE, BenchResult, LatencyRow, read_bench
from vireid_runtime.errors import ArtifactError
from vireid_runtime.machine import Machine, this_machine
from vireid_runtime.manifest import Manifest


@dataclass(frozen=True)
class Option:
    backend: str
    precision: str
    evidence: str


@dataclass(frozen=True)
class AutoPlan:
    modality: str
    options: list[Option]
    note: str = ""
    """Why a bench.json was not used, if one was there."""
    skipped: list[str] = field(default_factory=list)
    """Backends of the order that a cheap probe already ruled out, with the reason."""

    def describe(self, chosen: Option, refused: list[str]) -> str:
        line = f"auto: {chosen.backend} {chosen.precision} for the {self.modality} branch ({chosen.evidence})"
        if self.note:
            line += f"; {self.note}"
        passed = [*self.skipped, *refused]
        if passed:
            line += f"; passed over: {'; '.join(passed)}"
        return line


def bench_usable(bench: BenchResult, manifest: Manifest, here: Machine) -> str:
    """Why `bench` is not evidence for this export on this machine, or "" when it is."""
    measured = bench.environment.machine
    if measured != here:
        return f"ignored {BENCH_FILE}: measured on {measured.describe()}, this machine is {here.describe()}"
    if bench.manifest_created != manifest.created:
        return f"ignored {BENCH_FILE}: it measured an earlier export (re-run `vireid bench`)"
    return ""


def ranked_rows(bench: BenchResult, modality: str, precision: str | None) -> tuple[list[LatencyRow], str]:
    """Latency rows of runtime backends that passed parity, fastest first, and the branch they were timed on."""
    passing = {(p.backend, p.precision) for p in bench.parity if p.passed}

    def eligible(row: LatencyRow, branch: str) -> bool:
        return (
            row.modality == branch
            and row.backend in BACKENDS
            and not BACKENDS[row.backend].remote  # a server's speed is not this machine's
            and (row.backend, row.precision) in passing
            and (precision is None or row.precision == precision)
        )

    for branch in (modality, *(m for m in bench.settings.latency_modalities if m != modality)):
        rows = [row for row in bench.latency if eligible(row, branch)]
        if rows:
            largest = max(row.batch for row in rows)
            at_largest = [row for row in rows if row.batch == largest]
            return sorted(at_largest, key=lambda row: -row.compute.images_per_s), branch
    return [], modality


def from_bench(bench: BenchResult, path: Path, modality: str, precision: str | None) -> list[Option]:
    rows, branch = ranked_rows(bench, modality, precision)
    where = f"{path}, measured {bench.created} on {bench.environment.machine.describe()}"
    options = []
    for row in rows:
        parity = bench.parity_of(row.backend, row.precision)
        cosine = f", cos min {parity.figures.cos_min:.5f} (bar {parity.figures.bar.cos_min:g})" if parity else ""
        timed = "" if branch == modality else f" (timed on the {branch} branch)"
        options.append(
            Option(
                row.backend,
                row.precision,
                f"fastest that passed its parity bar in {where}: {row.compute.images_per_s:.1f} images/s at batch "
                f"{row.batch}{timed}{cosine}",
            )
        )
    return options


def from_order(precision: str | None) -> tuple[list[Option], list[str]]:
    wanted = precision or "fp32"
    options, skipped = [], []
    for name in AUTO_ORDER:
        entry = BACKENDS[name]
        if wanted not in entry.precisions:
            continue
        reason = entry.probe()
        if reason:
            skipped.append(f"{name}: {reason}")
            continue
        options.append(Option(name, wanted, f"first that runs in the order {' > '.join(AUTO_ORDER)}"))
    return options, skipped


def plan_auto(art_dir: Path, manifest: Manifest, modality: str, precision: str | None = None) -> AutoPlan:
    path = art_dir / BENCH_FILE
    note = ""
    measured: list[Option] = []
    failed: set[tuple[str, str]] = set()
    if path.is_file():
        try:
            bench = read_bench(path)
        except ArtifactError as err:
            note = f"ignored {BENCH_FILE}: {err}"
        else:
            note = bench_usable(bench, manifest, this_machine())
            if not note:
                measured = from_bench(bench, path, modality, precision)
                failed = {(p.backend, p.precision) for p in bench.parity if not p.passed}
                if not measured:
                    note = f"{BENCH_FILE} has no row that passed its parity bar" + (
                        f" at {precision}" if precision else ""
                    )
    fallback, skipped = from_order(precision)
    if not measured:
        note = note or f"no {BENCH_FILE} in {art_dir} (run `vireid bench` to choose by measurement)"
    seen = {(o.backend, o.precision) for o in measured} | failed  # what this machine measured failing: never
    options = measured + [o for o in fallback if (o.backend, o.precision) not in seen]
    return AutoPlan(modality, options, note, skipped if not measured else [])
