"""What the layers kept in float cost in CPU speed, measured side by side in one process.

For each branch of an exported artifact folder it times three ONNX Runtime CPU graphs, interleaved run by
run so that machine noise hits them alike:
- the fp32 graph;
- the shipped `*.int8-cpu.onnx`, with the layers its search kept in fp32;
- the same base graph with every layer quantised, calibrated with the method the search chose.
The third graph is built here only to be timed (its accuracy is what the search refused); the ratio of the
second to the third is the price of the kept layers.

Usage: python benchmarks/float_layer_cost.py ART_DIR [--batch 1,8] [--runs 30]
Read `lscpu` flags next to the figures: int8 speed depends on VNNI / AMX.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from vireid.io.rundir import load_config
from vireid_export.images import gather_images
from vireid_export.int8.calibration import calibrate, method_named
from vireid_export.int8.flavours import CPU
from vireid_export.int8.placement import quantizable_nodes
from vireid_export.int8.quantize import prepare, quantize_graph
from vireid_runtime.manifest import INPUT_NAME, read_manifest

CALIBRATION_IMAGES = 32


def all_quantised(base: Path, method_name: str, images: np.ndarray, scratch: Path) -> Path:
    prepared, cache, out = scratch / "prepared.onnx", scratch / "ranges.json", scratch / "all-int8.onnx"
    prepare(base, prepared)
    method = method_named(method_name)
    calibrate(prepared, method, [images], CPU.op_types, cache, symmetric=CPU.signed_activations)
    nodes = quantizable_nodes(onnx.load(str(prepared)).graph, CPU.quantize_residual_adds, CPU.quantize_outputs)
    onnx.save(quantize_graph(prepared, CPU, method, cache, nodes), str(out))
    return out


def quiet_session(path: Path) -> object:
    """A CPU session whose idle threads sleep instead of spinning: with three sessions taking turns, spinning
    workers of the one that just ran would compete with the one being timed (measured here: fp32 batch 1 at
    about 40 ms instead of the bench's 16 ms)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def time_side_by_side(graphs: dict[str, Path], batch: np.ndarray, runs: int) -> dict[str, float]:
    """Median milliseconds per batch for each graph, the graphs taking turns run by run."""
    sessions = {name: quiet_session(path) for name, path in graphs.items()}
    for session in sessions.values():  # warm-up
        for _ in range(3):
            session.run(None, {INPUT_NAME: batch})  # type: ignore[attr-defined]
    seconds: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(runs):
        for name, session in sessions.items():
            start = time.perf_counter()
            session.run(None, {INPUT_NAME: batch})  # type: ignore[attr-defined]
            seconds[name].append(time.perf_counter() - start)
    return {name: 1000.0 * float(np.median(values)) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("art_dir", type=Path)
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    manifest = read_manifest(args.art_dir)
    config = load_config(manifest.run_dir)
    height, width = manifest.input.height, manifest.input.width
    print(
        "| branch | batch | kept fp32 | fp32 ms | int8-cpu shipped ms | int8-cpu all-quantised ms | "
        "shipped / fp32 speed | all-quantised / fp32 speed | kept layers' cost |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for modality in ("visible", "infrared"):
        fp32 = manifest.find(modality, "fp32", "onnx")
        shipped = manifest.find(modality, "int8", "onnx", "ort-cpu")
        if fp32 is None or shipped is None or shipped.plan is None:
            raise SystemExit(f"{args.art_dir} has no fp32 and int8-cpu {modality} graphs")
        images = gather_images(
            config.data.root,
            modality,
            height=height,
            width=width,
            gate=8,
            screen=CALIBRATION_IMAGES,
            pool=CALIBRATION_IMAGES,
            calibration=CALIBRATION_IMAGES,
        ).calibration
        with tempfile.TemporaryDirectory(prefix="vireid-float-cost-") as scratch:
            every = all_quantised(args.art_dir / fp32.file, shipped.plan.calibration, images, Path(scratch))
            graphs = {"fp32": args.art_dir / fp32.file, "shipped": args.art_dir / shipped.file, "all": every}
            for size in (int(b) for b in args.batch.split(",")):
                batch = np.ascontiguousarray(np.resize(images, (size, *images.shape[1:])), dtype=np.float32)
                ms = time_side_by_side(graphs, batch, args.runs)
                print(
                    f"| {modality} | {size} | {len(shipped.plan.kept)} / {shipped.plan.candidates} | "
                    f"{ms['fp32']:.1f} | {ms['shipped']:.1f} | {ms['all']:.1f} | {ms['fp32'] / ms['shipped']:.2f}x | "
                    f"{ms['fp32'] / ms['all']:.2f}x | {ms['shipped'] / ms['all'] - 1:+.0%} time |"
                )


if __name__ == "__main__":
    main()
