"""int8 by measurement: the calibration method, then the fewest layers kept in float (docs/architecture.md).

Everything here is measured on training-split images against the torch fp32 embeddings of the same images;
the export's gate then judges the result on evaluation images the search never saw. Three sets of images:
- calibration images give the activation ranges;
- the pool, a larger draw from the training split, is what the graph must hold on. The worst cosine decides a
  bar, and the worst images are rare (on the demo ResNet-50, one over-exposed infrared image in 30 lost four
  times more than any other once the common error was gone), so a small random set misses them;
- the search set, the pool's hardest images under full quantisation plus as many random ones, is where each
  layer's sensitivity is measured, because that is the costly part (one graph per layer).
Steps:
1. Each calibration method quantises every layer; the one with the best worst-margin to the target on the
   pool is kept.
2. If that graph misses the target, each layer's sensitivity is measured on the search set: the graph with
   only that layer quantised ("layers" are the nodes that read a dequantised tensor: weighted ops and skip
   adds). The per-image losses drive `greedy.keep_fewest`, which keeps layers in the base graph's precision
   until the target holds on the search set.
3. The result is checked on the whole pool; pool images that still miss the target join the search set
   (their per-layer losses measured too) and the search goes on, within the time budget.
Sessions run the way the flavour's backends will (`ort_cpu.py`): emulated Q/DQ for the TensorRT flavour, the
CPU's integer kernels for the CPU flavour.
"""

from __future__ import annotations

import ast
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from vireid_export.greedy import Candidate, keep_fewest
from vireid_export.int8.calibration import DEFAULT_METHODS, CalibrationMethod, calibrate
from vireid_export.int8.flavours import Int8Flavour
from vireid_export.int8.graph_edit import with_float_nodes
from vireid_export.int8.placement import quantizable_nodes
from vireid_export.int8.quantize import prepare, quantize_graph
from vireid_export.ort_cpu import cpu_session, session_embed
from vireid_runtime.manifest import CalibrationScore, KeptLayer, LayerSensitivity, PrecisionPlan
from vireid_runtime.parity import Bar, cosine_rows


@dataclass(frozen=True)
class Int8Job:
    base_onnx: Path
    """The graph to quantise: the fp16 graph (TensorRT flavour) or the fp32 graph (CPU flavour)."""
    flavour: Int8Flavour
    calibration: np.ndarray
    """Images for the activation ranges, from the training split, preprocessed (N x 3 x H x W)."""
    pool: np.ndarray
    """Images the result must hold on, from the training split (may include the calibration images)."""
    reference: np.ndarray
    """The torch fp32 branch's embeddings of the pool."""
    target: Bar
    budget_s: float
    search_size: int = 64
    methods: tuple[CalibrationMethod, ...] = DEFAULT_METHODS
    batch: int = 8
    rounds: int = 3
    """How many times pool images that still miss the target may join the search set."""


def layer_name(node: onnx.NodeProto, initializers: set[str]) -> str:
    """How the model names a node: a convolution's module path, or "<block> residual add"."""
    if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in initializers:
        return node.input[1].removesuffix(".weight")
    scopes = next((p.value for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"), "")
    if scopes:
        try:
            path = [s for s in ast.literal_eval(scopes) if s][:-1]
        except (ValueError, SyntaxError):
            path = []
        if path:
            return f"{path[-1]} {'residual add' if node.op_type == 'Add' else node.op_type}"
    return node.name


def _reads_dequantized(model: onnx.ModelProto) -> list[str]:
    """Nodes (other than Q/DQ) reading a DequantizeLinear output: what can be put back in float, layer by layer."""
    dequantized = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    return [
        n.name
        for n in model.graph.node
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear") and any(i in dequantized for i in n.input)
    ]


class _Searcher:
    def __init__(self, job: Int8Job, scratch: Path) -> None:
        self.job, self.scratch = job, scratch
        self.prepared = scratch / "prepared.onnx"
        prepare(job.base_onnx, self.prepared)
        self.base = onnx.load(str(self.prepared))
        self.nodes = quantizable_nodes(self.base.graph, job.flavour.quantize_residual_adds)
        initializers = {i.name for i in self.base.graph.initializer}
        self.labels = {n.name: layer_name(n, initializers) for n in self.base.graph.node}
        images = job.calibration
        self.batches = [images[i : i + job.batch] for i in range(0, len(images), job.batch)]

    def cosine(self, model: onnx.ModelProto, rows: np.ndarray | None = None) -> np.ndarray:
        """Per-image cosine to the reference on the pool, or on the pool rows `rows`."""
        images, reference = self.job.pool, self.job.reference
        if rows is not None:
            images, reference = images[rows], reference[rows]
        session = cpu_session(model, emulate_qdq=self.job.flavour.emulate_on_cpu)
        return cosine_rows(reference, session_embed(session, images))

    def quantize(self, method: CalibrationMethod, index: int) -> onnx.ModelProto:
        cache = self.scratch / f"ranges-{index}.json"
        flavour = self.job.flavour
        calibrate(self.prepared, method, self.batches, flavour.op_types, cache, symmetric=flavour.signed_activations)
        return quantize_graph(self.prepared, flavour, method, cache, self.nodes)

    def margin(self, cosine: np.ndarray) -> float:
        return self.job.target.margin(float(cosine.min()), float(cosine.mean()))


def search_rows(cosine: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """The pool rows to measure layers on: the hardest half of `size` by `cosine`, then random others."""
    if size >= len(cosine):
        return np.arange(len(cosine))
    hardest = np.argsort(cosine)[: size // 2]
    others = np.setdiff1d(np.arange(len(cosine)), hardest)
    extra = np.random.default_rng(seed).choice(others, size - len(hardest), replace=False)
    return np.sort(np.concatenate([hardest, extra]))


def _choose_calibration(
    searcher: _Searcher, deadline: float, log: Callable[[str], None]
) -> tuple[CalibrationMethod, onnx.ModelProto, np.ndarray, list[CalibrationScore]]:
    scores: list[CalibrationScore] = []
    best: tuple[CalibrationMethod, onnx.ModelProto, np.ndarray] | None = None
    for index, method in enumerate(searcher.job.methods):
        if best is not None and time.monotonic() > deadline:
            log(f"    search budget spent; calibration methods after {scores[-1].method} not tried")
            break
        quantized = searcher.quantize(method, index)
        cosine = searcher.cosine(quantized)
        scores.append(CalibrationScore(method.name, float(cosine.min()), float(cosine.mean())))
        log(f"    calibration {method.name}: cosine min {cosine.min():.5f}, mean {cosine.mean():.5f}")
        if best is None or searcher.margin(cosine) > searcher.margin(best[2]):
            best = (method, quantized, cosine)
    assert best is not None
    return (*best, scores)


def _measure_layers(
    searcher: _Searcher,
    quantized: onnx.ModelProto,
    layers: list[str],
    rows: np.ndarray,
    deadline: float,
    log: Callable[[str], None],
) -> dict[str, np.ndarray]:
    """Per layer, the per-image loss on pool `rows` with only that layer quantised (until the deadline)."""
    losses: dict[str, np.ndarray] = {}
    for node in layers:
        if time.monotonic() > deadline:
            log(f"    search budget spent after measuring {len(losses)} of {len(layers)} layers")
            break
        alone = with_float_nodes(quantized, searcher.base, set(layers) - {node})
        losses[node] = 1.0 - searcher.cosine(alone, rows)
    return losses


def quantize_branch(
    job: Int8Job, log: Callable[[str], None] = lambda _message: None
) -> tuple[onnx.ModelProto, PrecisionPlan]:
    """The int8 graph of `job.base_onnx` and the plan that made it (see the module doc)."""
    start = time.monotonic()
    deadline = start + job.budget_s

    def say(message: str) -> None:
        log(f"{message} [{time.monotonic() - start:.0f} s]")

    with tempfile.TemporaryDirectory(prefix="vireid-int8-search-") as scratch:
        searcher = _Searcher(job, Path(scratch))
        method, quantized, pool_cosine, scores = _choose_calibration(searcher, deadline, say)
        losses: dict[str, np.ndarray] = {}
        kept: tuple[str, ...] = ()
        outcome = "met the target with every layer quantised"
        if searcher.margin(pool_cosine) < 0:
            layers = _reads_dequantized(quantized)
            rows = search_rows(pool_cosine, job.search_size)
            say(
                f"    {method.name} misses the target {job.target}; measuring {len(layers)} layers one at a time "
                f"on {len(rows)} images (the {len(rows) // 2} hardest of {len(job.pool)} and random others)"
            )
            losses = _measure_layers(searcher, quantized, layers, rows, deadline, say)
            for round_ in range(job.rounds + 1):
                candidates = [Candidate(n, searcher.labels.get(n, n), d) for n, d in losses.items()]

                def measure(nodes: frozenset[str], rows: np.ndarray = rows) -> np.ndarray:
                    return searcher.cosine(with_float_nodes(quantized, searcher.base, nodes), rows)

                result = keep_fewest(
                    candidates,
                    measure,
                    job.target,
                    must_keep=kept,
                    budget_s=max(0.0, deadline - time.monotonic()),
                    log=say,
                )
                kept, outcome = result.kept, result.outcome
                if not result.met:
                    break
                pool_cosine = searcher.cosine(with_float_nodes(quantized, searcher.base, kept))
                missing = np.setdiff1d(np.flatnonzero(pool_cosine < job.target.cos_min), rows)
                if searcher.margin(pool_cosine) >= 0:
                    outcome = f"met the target on all {len(job.pool)} pool images"
                    break
                if not len(missing):
                    outcome = f"met the target on the search set; pool mean {pool_cosine.mean():.5f} below it"
                    break
                if round_ == job.rounds or time.monotonic() > deadline:
                    outcome = f"{len(missing)} pool images still below the target after {round_ + 1} rounds"
                    break
                worst = missing[np.argsort(pool_cosine[missing])][:8]
                say(f"    {len(missing)} pool images still below the target; adding the {len(worst)} worst")
                extra = _measure_layers(searcher, quantized, list(losses), worst, deadline, say)
                if len(extra) < len(losses):  # sensitivities must cover the same images for every layer
                    outcome = f"{len(missing)} pool images still below the target; search budget spent"
                    break
                losses = {n: np.concatenate([losses[n], extra[n]]) for n in losses}
                rows = np.concatenate([rows, worst])
            quantized = with_float_nodes(quantized, searcher.base, kept)
    ranked = sorted(losses.items(), key=lambda item: float(item[1].mean()), reverse=True)
    plan = PrecisionPlan(
        kept=tuple(
            KeptLayer(
                searcher.labels.get(node, node),
                node,
                f"int8 alone costs {losses[node].mean():.1e} mean cosine ({losses[node].max():.1e} worst)",
            )
            for node in kept
        ),
        kept_dtype=job.flavour.base,
        candidates=len(searcher.nodes),
        calibration=method.name,
        calibration_scores=tuple(scores),
        sensitivity=tuple(
            LayerSensitivity(searcher.labels.get(n, n), n, float(d.mean()), float(d.max())) for n, d in ranked
        ),
        target=job.target,
        search_images=len(job.pool),
        search_seconds=round(time.monotonic() - start, 2),
        outcome=outcome,
    )
    return quantized, plan
