"""Where a fully quantised CPU int8 graph loses its accuracy: each stage quantised alone, then its worst nodes.

For one branch of an artifact folder, the fp32 graph is quantised as the CPU flavour quantises it (u8s8 Q/DQ,
minmax ranges from the screened training images), once per stage of the model (stem, layer2, attention, layer3,
layer4, head: every quantisable node whose module path starts there), with the rest left float. Each graph
embeds the screened training images through ONNX Runtime's integer kernels, and the cosine to the fp32 graph
says how much of the whole graph's loss that stage carries. The stage that loses most is then split node by
node. Last, what keeping the residual adds in float buys and costs: the fully quantised graph with the head's
reductions float, then also the adds of layer4, of layer3 and every add, each with its cosine and its ONNX Runtime
speed against the fp32 graph at batch 8 (`float_layer_cost.time_side_by_side`: graphs taking turns, medians).
This is the measurement behind the reading of why the demo ResNet-50 keeps so many layers in float
(docs/architecture.md, "int8"); it takes a few minutes per branch. Give the `lscpu` flags with its speeds.

Usage: python benchmarks/int8_error_by_stage.py ART_DIR [--modality visible] [--screen 256] [--top 8] [--runs 20]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx
from float_layer_cost import time_side_by_side  # a sibling script: run this one as benchmarks/...py

from vireid_export.images import artifact_images
from vireid_export.int8.calibration import DEFAULT_METHODS, calibrate
from vireid_export.int8.flavours import CPU
from vireid_export.int8.graph_edit import dequantized_readers, with_float_nodes
from vireid_export.int8.placement import quantizable_nodes, residual_adds
from vireid_export.int8.quantize import prepare, quantize_graph
from vireid_export.onnx_graph import module_path
from vireid_export.ort_cpu import cpu_session, session_embed
from vireid_runtime.parity import cosine_rows


def stage_of(node: onnx.NodeProto) -> str:
    """The first two parts of the node's module path ("trunk.layer3")."""
    path = module_path(node)
    return ".".join(path[0].split(".")[:2]) if path else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("art_dir", type=Path)
    parser.add_argument("--modality", default="visible", choices=("visible", "infrared"))
    parser.add_argument("--screen", type=int, default=256)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    images = artifact_images(args.art_dir, args.modality, args.screen).training
    base = args.art_dir / f"{args.modality}.onnx"
    reference = session_embed(cpu_session(onnx.load(str(base))), images)
    method = DEFAULT_METHODS[0]
    with tempfile.TemporaryDirectory(prefix="vireid-int8-stages-") as scratch:
        prepared, cache = Path(scratch) / "prepared.onnx", Path(scratch) / "ranges.json"
        prepare(base, prepared)
        model = onnx.load(str(prepared))
        nodes = quantizable_nodes(model.graph, CPU.quantize_residual_adds, CPU.quantize_outputs)
        by_name = {n.name: n for n in model.graph.node}
        batches = [images[i : i + 8] for i in range(0, len(images), 8)]
        calibrate(prepared, method, batches, CPU.op_types, cache, symmetric=CPU.signed_activations)

        def loss(chosen: list[str]) -> np.ndarray:
            quantized = quantize_graph(prepared, CPU, method, cache, chosen)
            return cosine_rows(reference, session_embed(cpu_session(quantized), images))

        stages: dict[str, list[str]] = {}
        for name in nodes:
            stages.setdefault(stage_of(by_name[name]), []).append(name)
        print(f"{args.modality}: {len(images)} screened training images, {method.name} ranges, CPU u8s8 flavour\n")
        print("| quantised | nodes | cos min | cos mean | 1 - mean |")
        print("|---|---|---|---|---|")
        worst, worst_loss = "", -1.0
        for stage, chosen in [*stages.items(), ("everything", nodes)]:
            cosine = loss(chosen)
            print(f"| {stage} | {len(chosen)} | {cosine.min():.5f} | {cosine.mean():.5f} | {1 - cosine.mean():.5f} |")
            if stage != "everything" and 1 - cosine.mean() > worst_loss:
                worst, worst_loss = stage, float(1 - cosine.mean())
        singles = [(float(1 - loss([n]).mean()), n) for n in stages[worst]]
        print(f"\n{worst}, node by node (the {args.top} worst):\n")
        print("| node | op | 1 - mean |")
        print("|---|---|---|")
        for error, name in sorted(singles, reverse=True)[: args.top]:
            print(f"| {name} | {by_name[name].op_type} | {error:.5f} |")
        print("\nKept in float, the rest quantised (ONNX Runtime, batch 8):\n")
        _float_adds(model, quantize_graph(prepared, CPU, method, cache, nodes), base, images, reference, args.runs)


FLOAT_ADDS = (("+ layer4 adds", "trunk.layer4"), ("+ layer3 adds", "trunk.layer3"), ("+ every add", ""))
"""Adds put back in float, cumulatively: those of layer4, then of layer3, then all ("" matches every stage)."""


def _float_adds(
    base: onnx.ModelProto, quantized: onnx.ModelProto, fp32: Path, images: np.ndarray, reference: np.ndarray, runs: int
) -> None:
    by_name = {n.name: n for n in base.graph.node}
    kept = [n for n in dequantized_readers(quantized) if stage_of(by_name[n]).startswith("head")]
    variants = {"head reductions": kept}
    for label, stage in FLOAT_ADDS:
        added = [a.node for a in residual_adds(base.graph) if stage_of(by_name[a.node]).startswith(stage)]
        kept = kept + [a for a in added if a not in kept]
        variants[label] = kept
    batch = np.ascontiguousarray(np.resize(images, (8, *images.shape[1:])), dtype=np.float32)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="vireid-int8-adds-") as scratch:
        graphs = {"fp32": fp32}
        for index, (label, nodes) in enumerate(variants.items()):
            graph = with_float_nodes(quantized, base, frozenset(nodes))
            cosine = cosine_rows(reference, session_embed(cpu_session(graph), images))
            rows[label] = f"| {label} | {len(nodes)} | {cosine.min():.5f} | {cosine.mean():.5f}"
            graphs[label] = Path(scratch) / f"variant-{index}.onnx"
            onnx.save(graph, str(graphs[label]))
        ms = time_side_by_side(graphs, batch, runs)
    print("| kept in float | layers | cos min | cos mean | ORT int8 / ORT fp32 |")
    print("|---|---|---|---|---|")
    for label, row in rows.items():
        print(f"{row} | {ms['fp32'] / ms[label]:.2f}x |")


if __name__ == "__main__":
    main()
