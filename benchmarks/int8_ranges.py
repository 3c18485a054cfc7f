"""How far past its int8 range each quantised activation goes, on training images and on evaluation images.

For one int8 graph of an artifact folder, every activation Q/DQ has a range (scale x 127 for symmetric s8,
scale x (255 - zero point) for u8). This runs the branch's fp32 graph with those tensors as outputs over the
screened training images and the whole evaluation split, and prints, per tensor, the largest value divided by
the range: above 1 the value is clipped. A range that training images stay inside but evaluation images exceed
is what made the searched infrared graphs of 2304c60 fail the gate (docs/architecture.md, "int8").

Usage: python benchmarks/int8_ranges.py ART_DIR [--modality infrared] [--graph int8] [--top 12]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx

from vireid_export.images import artifact_images
from vireid_export.int8.calibration import float32_twin
from vireid_export.int8.quantize import prepare
from vireid_export.int8.ranges import activation_ranges, tensor_maxima


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("art_dir", type=Path)
    parser.add_argument("--modality", default="infrared", choices=("visible", "infrared"))
    parser.add_argument("--graph", default="int8", choices=("int8", "int8-cpu"))
    parser.add_argument("--screen", type=int, default=512)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    images = artifact_images(args.art_dir, args.modality, args.screen)
    quantized = onnx.load(args.art_dir / f"{args.modality}.{args.graph}.onnx")
    ranges = activation_ranges(quantized)
    base = args.art_dir / (f"{args.modality}.fp16.onnx" if args.graph == "int8" else f"{args.modality}.onnx")
    with tempfile.TemporaryDirectory() as scratch:
        prepare(base, Path(scratch) / "prepared.onnx")
        twin = float32_twin(onnx.load(Path(scratch) / "prepared.onnx"))
    produced = {output for node in twin.graph.node for output in node.output}
    names = [name for name in ranges if name in produced]
    limits = np.array([ranges[name] for name in names])
    training = tensor_maxima(twin, names, images.training) / limits
    evaluation = tensor_maxima(twin, names, images.parity) / limits
    order = np.argsort(-evaluation.max(axis=0))[: args.top]
    print(f"{args.modality}.{args.graph}.onnx: {len(names)} activation ranges; value / range above 1 is clipped")
    print(f"({len(images.training)} screened training images, {len(images.parity)} evaluation images)\n")
    print("| tensor | range | training max / range | evaluation max / range | worst evaluation image |")
    print("|---|---|---|---|---|")
    for column in order:
        worst = int(np.argmax(evaluation[:, column]))
        print(
            f"| {names[column]} | {limits[column]:.3g} | {training[:, column].max():.2f} | "
            f"{evaluation[:, column].max():.2f} | {worst} |"
        )


if __name__ == "__main__":
    main()
