"""`vireid export`: per-branch ONNX (fp32 / fp16 / int8) and TensorRT engines, behind a parity gate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vireid.cli.common import csv_ints, csv_list, user_errors
from vireid_export import defaults
from vireid_export.int8.flavours import TARGETS

if TYPE_CHECKING:
    from vireid_runtime.manifest import Manifest


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
            help="Comma-separated fp32,fp16,int8. The fp32 ONNX is always written (the reference; the CPU int8 "
            "graph is quantised from it) and int8 for TensorRT brings fp16 (the TensorRT int8 graph is the fp16 "
            "graph with Q/DQ); TensorRT engines are built for the listed precisions only.",
        ),
    ] = "fp32",
    int8_targets: Annotated[
        str,
        typer.Option(
            "--int8-targets",
            help="Which int8 graphs --precision int8 writes: tensorrt (*.int8.onnx, symmetric s8 Q/DQ on the fp16 "
            "graph, what --engine trt builds from) and/or cpu (*.int8-cpu.onnx, u8s8 for ONNX Runtime and "
            "OpenVINO on CPUs). Each runs its own precision search; a CPU-only deployment needs only cpu.",
        ),
    ] = ",".join(TARGETS),
    batch: Annotated[
        str, typer.Option("--batch", help="Batch sizes to support: min, opt (middle) and max of the engine profile.")
    ] = "1,8,64",
    calib_data: Annotated[
        Path | None,
        typer.Option(
            "--calib-data",
            help="Dataset root or image folder for calibration and the parity gate (default: the run's dataset). "
            "Calibration and searches use its training split, the gate its evaluation split.",
        ),
    ] = None,
    calib_count: Annotated[
        int,
        typer.Option(
            "--calib-count",
            help="Training images per branch the fp16 search measures on (the int8 ranges come from every "
            "screened image, --screen-images).",
        ),
    ] = defaults.CALIB_COUNT,
    search_pool: Annotated[
        int,
        typer.Option(
            "--search-pool",
            help="Training images per branch the int8 search bisects on: a draw stratified by brightness and "
            "saturation, plus the screened images the quantised graph hurts most.",
        ),
    ] = defaults.SEARCH_POOL,
    screen_images: Annotated[
        int,
        typer.Option(
            "--screen-images",
            help="Training images per branch that set the int8 activation ranges (none of them clipped); the "
            "quantised graph runs over all of them once to find the ones it hurts most, and the result must hold "
            "on all of them.",
        ),
    ] = defaults.SCREEN_COUNT,
    search_images: Annotated[
        int,
        typer.Option(
            "--search-images", help="The pool's worst images the int8 layers are ranked on (one run of the graph)."
        ),
    ] = defaults.SEARCH_IMAGES,
    search_margin: Annotated[
        float,
        typer.Option(
            "--search-margin",
            help="The searches aim this fraction of the way from the gate's bar to 1 (at 0.5, int8's 0.99 becomes "
            "0.995), so that the gate holds on evaluation images they never saw.",
        ),
    ] = defaults.SEARCH_MARGIN,
    search_budget: Annotated[
        float, typer.Option("--search-budget", help="Seconds per graph for the fp16 / int8 search.")
    ] = defaults.SEARCH_BUDGET_S,
    compare_placements: Annotated[
        bool,
        typer.Option(
            "--compare-placements",
            help="CPU int8: when the search keeps costly layers float, also search Q/DQ on the inputs of weighted "
            "ops only, and ship whichever graph is faster on this CPU (about half a minute more per branch).",
        ),
    ] = defaults.COMPARE_PLACEMENTS,
    calibration: Annotated[
        str | None,
        typer.Option(
            "--calibration",
            help="int8 calibration methods to try, comma-separated: minmax, 'percentile 99.999', 'percentile "
            "99.99', 'percentile 99.9', entropy (default: minmax, over every screened image, which clips none of "
            "them). Given several, each fully quantised graph is judged on every screened image and the best "
            "worst image wins.",
        ),
    ] = None,
    gate_images: Annotated[
        int | None,
        typer.Option(
            "--gate-images",
            help="Evaluation images per branch the parity gate judges. Default: every one. A number draws that "
            "many, stratified by brightness and saturation, always with the brightest, darkest and most saturated.",
        ),
    ] = defaults.GATE_IMAGES,
    opset: Annotated[
        int,
        typer.Option(
            "--opset",
            help=f"ONNX opset, {defaults.MIN_OPSET}..{defaults.MAX_OPSET} (int8 needs >= {defaults.INT8_MIN_OPSET}; "
            f"TensorRT 10 parses up to {defaults.MAX_OPSET}).",
        ),
    ] = defaults.DEFAULT_OPSET,
    weights: Annotated[
        str, typer.Option("--weights", help="best (the selected checkpoint, default) or final.")
    ] = "best",
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Write the artifacts even when the parity gate fails (figures kept).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing, non-empty ART_DIR.")] = False,
) -> None:
    """Export model.branch("visible") and model.branch("infrared") of a run, each to its own graphs.

    Writes visible.onnx / infrared.onnx (fp32, dynamic batch, single file), *.fp16.onnx (BatchNorm folded in
    fp32; the convolutions that measurement shows fragile stay fp32), *.int8.onnx (symmetric Q/DQ on the fp16
    graph: TensorRT's input), *.int8-cpu.onnx (u8s8 Q/DQ: fastest on the CPU provider), *.{precision}.plan with
    --engine trt, and manifest.json. int8 picks its calibration method and the fewest layers to keep in float
    by measuring on training images. Every file is then compared with the torch branch on every evaluation image;
    below its bar (fp32 cosine >= 0.99999, fp16 >= 0.999, int8 >= 0.99 min and 0.995 mean) the export is
    refused with the figures. Nothing is left half-written: the folder appears only when everything passed.
    """
    from vireid_export.branch import SearchOptions
    from vireid_export.pipeline import ExportOptions, export_run, parse_calibration, parse_precisions

    methods = parse_calibration(csv_list(calibration, "--calibration")) if calibration else ()
    options = ExportOptions(
        engine=engine,
        precisions=parse_precisions(csv_list(precision, "--precision")),
        int8_targets=tuple(csv_list(int8_targets, "--int8-targets")),
        batches=tuple(csv_ints(batch, "--batch")),
        calib_data=str(calib_data) if calib_data else None,
        calib_count=calib_count,
        search_pool=search_pool,
        screen_count=screen_images,
        gate_images=gate_images,
        opset=opset,
        verify=not no_verify,
        force=force,
        weights=weights,
        search=SearchOptions(
            margin=search_margin,
            budget_s=search_budget,
            search_images=search_images,
            methods=methods,
            compare_placements=compare_placements,
        ),
    )
    _print_summary(export_run(run_dir, out, options), out)


def _print_summary(manifest: Manifest, out: Path) -> None:
    typer.echo(f"wrote {len(manifest.artifacts)} artifacts and manifest.json to {out}")
    for artifact in manifest.artifacts:
        parity = artifact.parity
        status = "ok" if parity and parity.passed else "BELOW BAR (--no-verify)"
        kept = f"  {len(artifact.plan.kept)} layers kept in float" if artifact.plan else ""
        cos_min = parity.cos_min if parity else float("nan")
        cos_mean = parity.cos_mean if parity else float("nan")
        typer.echo(
            f"  {artifact.file:<24} {artifact.bytes / 1e6:7.1f} MB  cos min {cos_min:.6f}  mean {cos_mean:.6f}"
            f"  {status}{kept}"
        )
