"""The demo's steps in order, into one folder, then report.md (see the package doc)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from vireid.demo import steps
from vireid.demo.gallery import gallery_showcase
from vireid.demo.recipe import DemoOptions
from vireid.demo.record import DemoRecord
from vireid.demo.report import render_report
from vireid.errors import VireidError
from vireid.io.atomic import atomic_write_text
from vireid.progress import log as default_log

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
"""What a demo writes (and `--force` replaces); "bench" is where older versions wrote the bench.

The folder is cleared in place rather than staged beside OUT and renamed (`staged_folder`): the run's config,
the manifest and the gallery record absolute paths into `data/`, which a rename would leave pointing at the
staging folder."""


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


def run_demo(options: DemoOptions, log: Callable[[str], None] = default_log) -> Path:
    """Run every step into `options.out`; returns the path of report.md."""
    from vireid.engine.trainer import train
    from vireid_export.pipeline import export_run

    out, recipe = options.out, options.recipe
    _prepare(out, options.force)
    timer = steps.Steps(log)
    run_step = timer.run
    data, run, artifacts = out / "data", out / "run", out / "artifacts"
    summary = run_step("generate a SYSU-MM01-layout dataset", lambda: steps.generate_data(options, data))
    config = steps.demo_config(options, data)
    trained = run_step("train the demo preset", lambda: train(config, run, show_progress=False))
    evaluation = run_step(
        f"evaluate: SYSU-MM01 all-search, single-shot, {recipe.trials} trials",
        lambda: steps.evaluate(run, data, recipe.trials),
    )
    manifest = run_step(
        "export both branches: ONNX fp32 and CPU int8 (u8s8)",
        lambda: export_run(run, artifacts, recipe.export, log=log),
    )
    bench = run_step(
        f"bench {', '.join(recipe.bench.backends)} at every precision they run",
        lambda: steps.bench(artifacts, options, log),
    )
    ranked = run_step("search: a ranked list through the runtime", lambda: steps.ranked_list(data, artifacts, out))
    gallery = run_step(
        "gallery: the evaluation images, a filtered query, eval against exact search",
        lambda: gallery_showcase(data, artifacts, out, log),
    )
    triton = run_step(
        "deploy: a Triton model repository (CPU instances)", lambda: steps.triton(artifacts, out / "triton")
    )
    seconds = dict(timer.seconds)
    record = DemoRecord(summary, config, trained, evaluation, manifest, bench, ranked, gallery, triton, seconds)
    path = out / "report.md"
    atomic_write_text(path, render_report(record))
    log(f"demo finished in {sum(seconds.values()):.0f} s; report: {path}")
    return path
