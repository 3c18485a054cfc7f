"""The export's defaults, in one place that imports nothing heavy.

`ExportOptions` / `SearchOptions` and the `vireid export` command line both read them, so that the library and
the CLI cannot drift apart, and `vireid --help` stays fast (no torch or onnx import to show a default).
"""

from __future__ import annotations

CALIB_COUNT = 64
"""Training images per modality the fp16 search measures on (a stratified draw from the pool). The int8
activation ranges come from every screened image (`int8/search.py`)."""
SEARCH_POOL = 64
"""Training images per modality the int8 search must hold its target on while it bisects (a stratified draw
from the screened images, the calibration images among them, plus the images the quantised graph hurts most).
The result is then checked on every screened image, and images that still miss join the pool. On the demo
ResNet-50 (seeds 0 and 1) 64 kept 0-4 more layers float than 128, every graph passed the gate on every
evaluation image, and the export took 160 s instead of 189 s (seed 0)."""
SCREEN_COUNT = 512
"""Training images per modality that set the int8 activation ranges; every fully quantised graph runs over them
once, the pool takes the worst, and the search's result must hold on all of them."""
GATE_IMAGES: int | None = None
"""Evaluation images per modality the parity gate compares with torch: None judges every one. A number draws
that many, stratified by brightness and saturation with the extremes included (`selection.py`)."""

SEARCH_MARGIN = 0.5
"""The searches aim this fraction of the way from the gate's bar to 1 (int8 0.99 -> 0.995). On the demo
ResNet-50 the TensorRT-flavour int8 graph searched to 0.25 of the way met its target on training images and
still failed the gate on evaluation images (cos min 0.989); 0.5 passed it (0.994)."""
SEARCH_BUDGET_S = 900.0
"""Seconds per graph for a search; one that runs out keeps what it has and the gate decides."""
COMPARE_PLACEMENTS = False
"""Whether the CPU int8 search also searches its other Q/DQ placement (inputs of weighted ops only) when the
first keeps costly layers float, and ships the faster. Off by default: on the demo ResNet-50 on an AMX Xeon the
second search cost about 25 s per branch and lost every time, the first placement's graph being 1.01-1.17x
faster (seeds 0 and 1, both branches, `benchmarks/results/precision/export-seed*.txt` at f8a579f); on an
AVX2-only CPU, where the integer kernels differ, it has not been measured."""
SEARCH_IMAGES = 16
"""The pool's worst images the int8 layers are ranked on, in one run of the graph with float twins."""

MIN_OPSET = 18
"""The dynamo exporter's oldest opset."""
INT8_MIN_OPSET = 19
"""The first opset with fp16 scales on Q/DQ, which the TensorRT int8 graph (an fp16 graph) needs."""
DEFAULT_OPSET = INT8_MIN_OPSET
MAX_OPSET = 20
"""The newest opset TensorRT 10's ONNX parser reads (`tensorrt_ops.MAX_OPSET`): every fp32 / fp16 graph may be
built into an engine, so an export refuses a newer opset before it starts rather than at the TensorRT check."""
