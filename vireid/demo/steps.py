"""The demo's steps, one function each, each returning a typed record for the report (`record.py`).

Heavy imports stay inside the functions: `vireid demo --help` must not load torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from vireid.config import load_run_config, replace
from vireid.demo.recipe import DemoOptions
from vireid.io.atomic import atomic_write_text

if TYPE_CHECKING:
    from vireid.config.schema import RunConfig
    from vireid.data.synthetic.writer import SyntheticSummary
    from vireid.eval.report import EvaluationReport
    from vireid_runtime.bench_result import BenchResult

T = TypeVar("T")


class Steps:
    """Runs the named steps, logging each and recording its wall time for the report."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.seconds: dict[str, float] = {}

    def run(self, name: str, action: Callable[[], T]) -> T:
        self.log(f"== {name}")
        start = time.perf_counter()
        result = action()
        self.seconds[name] = time.perf_counter() - start
        self.log(f"   {name}: {self.seconds[name]:.1f} s")
        return result


def generate_data(options: DemoOptions, data: Path) -> SyntheticSummary:
    from vireid.data.synthetic import generate

    return generate("sysu", data, ids=options.recipe.ids, seed=options.seed, workers=2)


def demo_config(options: DemoOptions, data: Path) -> RunConfig:
    """The `demo` preset with the recipe's overrides, seeded, on the generated data."""
    overrides = (f"train.seed={options.seed}", *options.recipe.train_overrides)
    config = load_run_config("demo", overrides=overrides)
    return replace(config, data=replace(config.data, root=str(data.resolve())))


def evaluate(run: Path, data: Path, trials: int) -> EvaluationReport:
    """SYSU-MM01 all-search, single-shot, over `trials` gallery draws; written to the run's eval.json."""
    from vireid.eval.runs import evaluate_runs, write_report

    report = evaluate_runs([run], str(data), mode="all", shots=1, trials=trials, show_progress=False)
    write_report(report, run)
    return report


def bench(artifacts: Path, options: DemoOptions, log: Callable[[str], None]) -> BenchResult:
    """`vireid bench` of the export, written beside it: where `backend="auto"` reads it."""
    from vireid.bench.report import write_outputs
    from vireid.bench.runner import run_bench

    result = run_bench(artifacts, options.recipe.bench, log=log)
    write_outputs(result, artifacts)
    return result


@dataclass(frozen=True)
class RankedList:
    query: Path
    hit_at_1: bool
    choice: tuple[str, ...]
    """What `backend="auto"` chose per branch, with its evidence."""


def ranked_list(data: Path, artifacts: Path, out: Path) -> RankedList:
    """`vireid search` of the first all-search query against the trial-0 gallery, with `--backend auto`."""
    from vireid.data.sysu import SYSUMM01
    from vireid.gallery.ranked_list import draw_ranked_list
    from vireid.search.engine import search

    sysu = SYSUMM01(data)
    atomic_write_text(out / "gallery.txt", "".join(f"{s.path}\n" for s in sysu.gallery("all", 0, 1)))
    query = sysu.query("all")[0]
    result = search(artifacts, query.path, out / "gallery.txt", top_k=8, backend="auto", cache_dir=out / "search-cache")
    draw_ranked_list(result.query, result.query_id, result.ranked, out / "ranked.png")
    return RankedList(Path(query.path), result.ranked[0].crop.identity == result.query_id, tuple(result.choice))


def triton(artifacts: Path, out: Path) -> tuple[str, ...]:
    """A Triton model repository of the export (CPU instances); the names of its models."""
    from vireid.deploy.repository import write_repository
    from vireid.deploy.triton import TritonOptions

    return tuple(m.name for m in write_repository(artifacts, out, TritonOptions(kind="cpu")).models)
