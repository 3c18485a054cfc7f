"""`vireid demo`: the whole product on a laptop CPU, in minutes, from nothing.

It generates a SYSU-MM01-layout dataset, trains the `demo` preset, evaluates the all-search protocol over
10 gallery trials, exports both branches to ONNX fp32 and int8, benches torch against ONNX Runtime (and OpenVINO
when it is installed) at every precision they run (parity and latency), draws a ranked list through
`backend="auto"`, which picks by that bench, and writes report.md tying it together. Everything is
deterministic for the seed except the timings. The generated data only shows that the pipeline learns and
that deployment keeps what was learned; it says nothing about accuracy on real data.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vireid.config import load_run_config, replace
from vireid.demo_gallery import GalleryShowcase, gallery_section, gallery_showcase
from vireid.errors import VireidError
from vireid.io.atomic import atomic_write_text
from vireid.progress import log as default_log

if TYPE_CHECKING:
    from vireid.engine.result import TrainResult
    from vireid.eval.report import EvaluationReport
    from vireid_export.int8.calibration import CalibrationMethod
    from vireid_runtime.bench_result import BenchResult

OWNED = (
    "data",
    "run",
    "artifacts",
    "bench",
    "search-cache",
    "triton",
    "ranked.png",
    "gallery.txt",
    "gallery",
    "gallery.db",
    "gallery.png",
    "report.md",
)
"""What a demo writes (and `--force` replaces); "bench" is where older versions wrote the bench."""


@dataclass(frozen=True)
class DemoOptions:
    out: Path
    seed: int = 0
    force: bool = False
    ids: int = 100
    """Identities in the generated dataset (the test suite uses fewer)."""
    train_overrides: tuple[str, ...] = ()
    """Extra `--set` overrides on the demo preset (the test suite shortens training)."""
    bench_runs: int = 10
    calibration: tuple[CalibrationMethod, ...] = ()
    """int8 calibration methods to try (empty: the export's default)."""


def _prepare(out: Path, force: bool) -> None:
    existing = [name for name in OWNED if (out / name).exists()]
    if out.exists() and not out.is_dir():
        raise VireidError(f"{out} exists and is not a folder")
    if existing and not force:
        raise VireidError(f"{out} already holds a demo ({', '.join(existing)}); pass --force to run it again")
    for name in existing:
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)


class Steps:
    """Runs the named steps, logging each and recording its wall time for the report."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.seconds: dict[str, float] = {}

    def run(self, name: str, action: Callable[[], Any]) -> Any:
        self.log(f"== {name}")
        start = time.perf_counter()
        result = action()
        self.seconds[name] = time.perf_counter() - start
        self.log(f"   {name}: {self.seconds[name]:.1f} s")
        return result


def run_demo(options: DemoOptions, log: Callable[[str], None] = default_log) -> Path:
    """Run every step into `options.out`; returns the path of report.md."""
    from vireid.bench.report import write_outputs
    from vireid.bench.runner import BenchOptions, run_bench
    from vireid.data.synthetic import generate
    from vireid.deploy.repository import write_repository
    from vireid.deploy.triton import TritonOptions
    from vireid.engine.trainer import train
    from vireid.eval.runs import evaluate_runs, write_report
    from vireid_export.branch import SearchOptions
    from vireid_export.pipeline import ExportOptions, export_run
    from vireid_runtime.backends import BACKENDS

    out = options.out
    _prepare(out, options.force)
    steps = Steps(log)
    data, run, artifacts = out / "data", out / "run", out / "artifacts"

    summary = steps.run(
        "generate a SYSU-MM01-layout dataset",
        lambda: generate("sysu", data, ids=options.ids, seed=options.seed, workers=2),
    )
    config = load_run_config("demo", overrides=(f"train.seed={options.seed}", *options.train_overrides))
    config = replace(config, data=replace(config.data, root=str(data.resolve())))
    trained = steps.run("train the demo preset", lambda: train(config, run, show_progress=False))
    report = steps.run(
        "evaluate: SYSU-MM01 all-search, single-shot, 10 trials",
        lambda: evaluate_runs([run], str(data), mode="all", shots=1, trials=10, show_progress=False),
    )
    write_report(report, run)
    manifest = steps.run(
        "export both branches: ONNX fp32 and CPU int8 (u8s8)",
        lambda: export_run(
            run,
            artifacts,
            ExportOptions(
                precisions=("fp32", "int8"),
                # The demo deploys on this CPU: the TensorRT-shaped int8 graph (and its fp16 base) would cost a
                # second precision search per branch for a graph only a GPU runs well.
                int8_targets=("cpu",),
                batches=(1, 8, 32),
                # The export's int8 search (ranges from 512 screened training images); the gate judges every
                # evaluation image.
                search=SearchOptions(budget_s=120, methods=options.calibration),
            ),
            log=log,
        ),
    )
    backends = ("torch", *(name for name in ("ort-cpu", "openvino") if BACKENDS[name].probe() is None))
    bench = steps.run(
        f"bench {', '.join(backends)} at every precision they run",
        lambda: run_bench(
            artifacts,
            BenchOptions(
                backends=backends,
                batches=(1, 8),
                runs=options.bench_runs,
                warmup=2,
                latency_modalities=("visible",),
            ),
            log=log,
        ),
    )
    write_outputs(bench, artifacts)  # where `vireid bench` writes it, and where backend="auto" reads it

    ranked = steps.run("search: a ranked list through the runtime", lambda: _ranked_list(data, artifacts, out))
    gallery = steps.run(
        "gallery: the evaluation images, a filtered query, eval against exact search",
        lambda: gallery_showcase(data, artifacts, out, log),
    )
    triton = steps.run(
        "deploy: a Triton model repository (CPU instances)",
        lambda: write_repository(artifacts, out / "triton", TritonOptions(kind="cpu")),
    )
    path = out / "report.md"
    atomic_write_text(
        path,
        render_report(
            summary,
            config,
            trained,
            report,
            manifest,
            bench,
            ranked,
            gallery,
            [m.name for m in triton.models],
            steps.seconds,
        ),
    )
    log(f"demo finished in {sum(steps.seconds.values()):.0f} s; report: {path}")
    return path


def _ranked_list(data: Path, artifacts: Path, out: Path) -> dict[str, Any]:
    """`vireid search` of the first all-search query against the trial-0 gallery, with `--backend auto`."""
    from vireid.data.sysu import SYSUMM01
    from vireid.gallery.ranked_list import draw_ranked_list
    from vireid.search.engine import search

    sysu = SYSUMM01(data)
    atomic_write_text(out / "gallery.txt", "".join(f"{s.path}\n" for s in sysu.gallery("all", 0, 1)))
    query = sysu.query("all")[0]
    result = search(artifacts, query.path, out / "gallery.txt", top_k=8, backend="auto", cache_dir=out / "search-cache")
    draw_ranked_list(result.query, result.query_id, result.ranked, out / "ranked.png")
    return {"query": query.path, "hit_at_1": result.ranked[0].crop.identity == result.query_id, "choice": result.choice}


def render_report(
    summary: Any,
    config: Any,
    trained: TrainResult,
    evaluation: EvaluationReport,
    manifest: Any,
    bench: BenchResult,
    ranked: dict[str, Any],
    gallery: GalleryShowcase,
    triton_models: list[str],
    seconds: dict[str, float],
) -> str:
    from vireid.bench.report import LATENCY_HEADER, PARITY_HEADER, latency_rows, markdown_table, parity_rows

    metrics = evaluation.mean_std()
    chance = 1.0 / max(1, summary.splits.get("test", 1))
    export_rows = [
        [
            a.file,
            a.precision,
            a.flavour or "-",
            f"{a.bytes / 1e6:.1f}",
            f"{a.parity.cos_min:.6f}" if a.parity else "-",
            f"{a.parity.cos_p01:.6f}" if a.parity and a.parity.cos_p01 is not None else "-",
            f"{a.parity.below} / {a.parity.images}" if a.parity and a.parity.below is not None else "-",
            f"{a.parity.cos_mean:.6f}" if a.parity else "-",
            str(len(a.plan.kept)) if a.plan else "-",
        ]
        for a in manifest.artifacts
    ]
    lines = [
        "# vireid demo report",
        "",
        "Everything below ran on this machine from nothing: a generated dataset in the SYSU-MM01 layout, the `demo`",
        "preset (resnet18 from scratch, small input), the SYSU-MM01 protocol, the ONNX export and the bench. The",
        "generated data shows that the pipeline learns and that deployment keeps what it learned; it is **not** a",
        "statement about accuracy on the real SYSU-MM01 or RegDB.",
        "",
        "## Steps",
        "",
        markdown_table(["step", "seconds"], [[name, f"{value:.1f}"] for name, value in seconds.items()]),
        f"\nTotal: {sum(seconds.values()):.0f} s.",
        "",
        "## Data and training",
        "",
        f"- dataset: {summary.ids} identities ({summary.splits}), {summary.visible} visible and {summary.infrared} "
        "infrared images in `data/`",
        f"- model: {config.model.backbone} `{config.model.attention}` at {config.model.height}x{config.model.width}, "
        f"{config.train.epochs} epochs, {trained.seconds:.0f} s, {trained.images_per_s or 0:.1f} images/s "
        "in the last epoch",
        f"- model selection: {trained.selection} (best epoch {trained.best.epoch if trained.best else '-'})",
        "",
        "## SYSU-MM01 all-search, single-shot, 10 trials (mean ± std)",
        "",
        markdown_table(
            ["R1", "R5", "R10", "R20", "mAP", "mINP"],
            [
                [
                    f"{100 * metrics[k].mean:.1f} ± {100 * metrics[k].std:.1f}"
                    for k in ("R1", "R5", "R10", "R20", "mAP", "mINP")
                ]
            ],
        ),
        f"\nChance Rank-1 is about {100 * chance:.0f}% ({summary.splits.get('test')} test identities). "
        "Details: `run/eval.json`.",
        "",
        "## Export (`artifacts/`)",
        "",
        markdown_table(
            [
                "file",
                "precision",
                "flavour",
                "MB",
                "cos min vs torch",
                "cos p1",
                "below bar",
                "cos mean",
                "layers kept in float",
            ],
            export_rows,
        ),
        "",
        "## Parity on the evaluation split",
        "",
        markdown_table(PARITY_HEADER, parity_rows(bench)),
        "",
        "## Latency (visible branch)",
        "",
        markdown_table(LATENCY_HEADER, latency_rows(bench)),
        "",
        "![latency and throughput against batch size](artifacts/bench.png)",
        "",
        "## A ranked list through the runtime",
        "",
        f"Query `{Path(ranked['query']).relative_to(Path(summary.root))}` (infrared) against the trial-0 visible "
        f"gallery; green = same identity, red = another. Rank-1 {'is' if ranked['hit_at_1'] else 'is not'} a match.",
        "",
        "Backends chosen by `--backend auto` from the bench above:",
        "",
        *[f"- {line}" for line in ranked["choice"]],
        "",
        "![ranked list](ranked.png)",
        "",
        *gallery_section(gallery, Path(summary.root)),
        "## Serving it with Triton",
        "",
        f"`triton/` is a Triton Inference Server model repository of {len(triton_models)} models "
        f"({', '.join(f'`{name}`' for name in triton_models)}), each config checked against Triton's ModelConfig "
        "schema and its ONNX graph; [its README](triton/README.md) has the server command, a client snippet and "
        "a perf_analyzer command over real images. No Triton server ran here.",
        "",
        f"Machine: {bench.environment.machine.describe()}. Full figures: `artifacts/bench.json`, `artifacts/bench.md`.",
    ]
    return "\n".join(lines) + "\n"
