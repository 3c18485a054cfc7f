"""`vireid export`: per-branch ONNX (fp32 / fp16 / int8) and TensorRT engines, behind a parity gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import csv_ints, csv_list, user_errors


@user_errors
def export_cli(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `vireid train`.")],
    out: Annotated[Path, typer.Option("--out", help="Artifact directory to create (ART_DIR).")],
    engine: Annotated[
        str, typer.Option("--engine", help="onnx: ONNX graphs only. trt: also TensorRT engines (on the target GPU).")
    ] = "onnx",
    precision: Annotated[
        str,
        typer.Option(
            "--precision",
            help="Comma-separated fp32,fp16,int8. The fp32 ONNX is always written (reference; int8 is quantised "
            "from it); TensorRT engines are built for the listed precisions only.",
        ),
    ] = "fp32",
    batch: Annotated[
        str, typer.Option("--batch", help="Batch sizes to support: min, opt (middle) and max of the engine profile.")
    ] = "1,8,64",
    calib_data: Annotated[
        Path | None,
        typer.Option(
            "--calib-data",
            help="Dataset root or image folder for int8 calibration and the parity gate (default: the run's dataset).",
        ),
    ] = None,
    calib_count: Annotated[int, typer.Option("--calib-count", help="int8 calibration images per modality.")] = 64,
    parity_count: Annotated[int, typer.Option("--parity-count", help="Parity-gate images per modality.")] = 32,
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (>= 18).")] = 18,
    weights: Annotated[
        str, typer.Option("--weights", help="best (the selected checkpoint, default) or final.")
    ] = "best",
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Write the artifacts even when the parity gate fails (figures kept).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing, non-empty ART_DIR.")] = False,
) -> None:
    """Export model.branch("visible") and model.branch("infrared") of a run, each to its own graph.

    Writes visible.onnx / infrared.onnx (fp32, dynamic batch, single file), *.fp16.onnx, *.int8.onnx (QDQ,
    symmetric: TensorRT's input), *.int8-cpu.onnx (QDQ u8s8: fastest on the CPU provider), *.{precision}.plan
    with --engine trt, and manifest.json. Every file is compared with the torch branch on real images; below
    the per-precision bar (fp32: cosine >= 0.99999) the export is refused with the figures. Nothing is left
    half-written: the folder appears only when everything passed.
    """
    from vireid_export.pipeline import ExportOptions, export_run, parse_precisions

    options = ExportOptions(
        engine=engine,
        precisions=parse_precisions(csv_list(precision, "--precision")),
        batches=tuple(csv_ints(batch, "--batch")),
        calib_data=str(calib_data) if calib_data else None,
        calib_count=calib_count,
        parity_count=parity_count,
        opset=opset,
        verify=not no_verify,
        force=force,
        weights=weights,
    )
    manifest = export_run(run_dir, out, options)
    typer.echo(f"wrote {len(manifest.artifacts)} artifacts and manifest.json to {out}")
    for artifact in manifest.artifacts:
        parity = artifact.parity
        status = "ok" if parity.get("passed") else "BELOW BAR (--no-verify)"
        typer.echo(
            f"  {artifact.file:<28} {artifact.bytes / 1e6:7.1f} MB  cos min {parity.get('cos_min', float('nan')):.6f}"
            f"  mean {parity.get('cos_mean', float('nan')):.6f}  {status}"
        )
