"""`vireid eval` as an importable function: run directories in, an EvaluationReport and eval.json out.

The protocol follows from the dataset layout: SYSU-MM01 evaluates one run over gallery trials; RegDB
evaluates one run per trial (each run on the trial it was trained on), so ten runs give the published
ten-trial figure.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from vireid.data.layout import detect_layout
from vireid.data.sysu import SYSUMM01
from vireid.errors import VireidError
from vireid.eval.extract import EmbedFn, torch_embedder
from vireid.eval.protocols import ExtractOptions, evaluate_regdb, evaluate_sysu
from vireid.eval.report import EvaluationReport
from vireid.io.atomic import atomic_write_text
from vireid.io.rundir import WeightsChoice, load_run

EVAL_FILE = "eval.json"


def _embedders(run_dir: Path, weights: WeightsChoice, device: str) -> tuple[Any, EmbedFn, EmbedFn]:
    config, model = load_run(run_dir, weights)
    return config, torch_embedder(model.branch("visible"), device), torch_embedder(model.branch("infrared"), device)


def evaluate_runs(
    run_dirs: list[Path],
    data: str | None = None,
    *,
    mode: str = "all",
    shots: int = 1,
    trials: int = 10,
    direction: str = "visible-to-thermal",
    flip: bool = False,
    weights: WeightsChoice = "best",
    batch_size: int = 64,
    workers: int = 0,
    device: str = "cpu",
    show_progress: bool | None = None,
) -> EvaluationReport:
    if not run_dirs:
        raise VireidError("give at least one run directory")
    if device == "cuda" and not torch.cuda.is_available():
        raise VireidError("--device cuda but no CUDA GPU is visible")
    config, visible, infrared = _embedders(run_dirs[0], weights, device)
    root = data or config.data.root
    if not root:
        raise VireidError("the run records no dataset; pass --data PATH")
    layout = detect_layout(root)
    options = ExtractOptions(
        config.model.height,
        config.model.width,
        batch_size=batch_size,
        flip=flip,
        workers=workers,
        show_progress=show_progress,
    )
    if layout == "sysu":
        if len(run_dirs) > 1:
            raise VireidError("SYSU-MM01 evaluates one run over gallery trials; give a single run directory")
        report = evaluate_sysu(visible, infrared, SYSUMM01(root), options, mode=mode, shots=shots, trials=trials)
    else:
        runs = [(config.data.trial, visible, infrared)]
        for run_dir in run_dirs[1:]:
            other, v, i = _embedders(run_dir, weights, device)
            runs.append((other.data.trial, v, i))
        seen = [trial for trial, _, _ in runs]
        if len(set(seen)) != len(seen):
            raise VireidError(f"RegDB runs must be trained on different trials; got trials {seen}")
        report = evaluate_regdb(runs, root, options, direction=direction)
    settings = dataclasses.replace(
        report.settings, weights=weights, runs=tuple(str(r) for r in run_dirs), data=str(root)
    )
    return dataclasses.replace(report, settings=settings)


def write_report(report: EvaluationReport, out_dir: Path) -> Path:
    path = out_dir / EVAL_FILE
    atomic_write_text(path, report.to_json())
    return path
