"""`vireid eval`: SYSU-MM01 / RegDB protocols on trained runs; R1 / R5 / R10 / R20 / mAP / mINP, mean +- std."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import user_errors


@user_errors
def eval_cli(
    run_dirs: Annotated[
        list[Path], typer.Argument(help="Run directory (SYSU-MM01), or one per trial (RegDB: e.g. 10 runs).")
    ],
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset root (default: the one recorded in the run).")
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="SYSU-MM01 search mode: all or indoor.")] = "all",
    shots: Annotated[int, typer.Option("--shots", help="SYSU-MM01 gallery: 1 (single-shot) or 10 (multi-shot).")] = 1,
    trials: Annotated[int, typer.Option("--trials", help="SYSU-MM01 gallery trials (random draws).")] = 10,
    direction: Annotated[
        str, typer.Option("--direction", help="RegDB: visible-to-thermal or thermal-to-visible.")
    ] = "visible-to-thermal",
    flip: Annotated[bool, typer.Option("--flip", help="Flip test-time augmentation (named in the report).")] = False,
    weights: Annotated[str, typer.Option("--weights", help="best (selected checkpoint) or final.")] = "best",
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for eval.json (default: the (first) run directory).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per forward pass.")] = 64,
    workers: Annotated[int, typer.Option("--workers", help="Image-loading worker processes.")] = 0,
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
) -> None:
    """Evaluate runs with the published protocols; the protocol follows from the dataset layout.

    SYSU-MM01: infrared queries (cameras 3, 6) against single-/multi-shot visible galleries drawn as the
    baseline code draws them, camera-2 images dropped for camera-3 queries, identity-deduplicated CMC.
    RegDB: each run is evaluated on the trial it was trained on. Distances are cosine. Prints mean ± std over
    trials and writes eval.json.
    """
    from vireid.errors import VireidError
    from vireid.eval.runs import evaluate_runs, write_report

    if weights not in ("best", "final"):
        raise VireidError("--weights must be best or final")
    if device not in ("cpu", "cuda"):
        raise VireidError("--device must be cpu or cuda")
    if trials < 1:
        raise VireidError("--trials must be >= 1")
    report = evaluate_runs(
        run_dirs,
        str(data) if data else None,
        mode=mode,
        shots=shots,
        trials=trials,
        direction=direction,
        flip=flip,
        weights="best" if weights == "best" else "final",
        batch_size=batch_size,
        workers=workers,
        device=device,
    )
    typer.echo(report.table())
    path = write_report(report, out or run_dirs[0])
    typer.echo(f"wrote {path}")
