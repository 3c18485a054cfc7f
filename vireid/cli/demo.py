"""`vireid demo`: generate data, train, evaluate, export, bench and search, in one command on a CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import user_errors


@user_errors
def demo_cli(
    out: Annotated[Path, typer.Option("--out", help="Folder for everything the demo writes.")] = Path("vireid-demo"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated data and of training.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Run again into a folder that holds a demo.")] = False,
    ids: Annotated[int, typer.Option("--ids", hidden=True, help="Identities to generate (tests use fewer).")] = 100,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", hidden=True, help="Extra training overrides (tests shorten it).")
    ] = None,
    bench_runs: Annotated[int, typer.Option("--bench-runs", hidden=True, help="Timed runs per batch size.")] = 10,
    calibration: Annotated[
        str | None,
        typer.Option("--calibration", hidden=True, help="int8 calibration methods to try, as in `vireid export`."),
    ] = None,
) -> None:
    """Show the whole product on this machine in under 5 minutes (277 s on 2 AVX2 cores), no dataset and no GPU needed.

    Generates a SYSU-MM01-layout dataset, trains the `demo` preset (resnet18, small input), evaluates the
    all-search protocol over 10 trials, exports both branches to ONNX fp32 and CPU int8, benches torch vs ONNX
    Runtime and OpenVINO, fp32 vs int8 (parity and latency), draws a ranked list, and writes OUT/report.md.
    """
    from vireid.cli.common import csv_list
    from vireid.demo import DemoOptions, run_demo
    from vireid_export.pipeline import parse_calibration

    report = run_demo(
        DemoOptions(
            out=out,
            seed=seed,
            force=force,
            ids=ids,
            train_overrides=tuple(overrides or ()),
            bench_runs=bench_runs,
            calibration=parse_calibration(csv_list(calibration, "--calibration")) if calibration else (),
        )
    )
    typer.echo(f"report: {report}")
