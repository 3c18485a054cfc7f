"""int8 by measurement: the activation ranges, then the fewest layers kept in float (docs/architecture.md).

Everything here is measured on training-split images against the fp32 graph's embeddings of the same images
(the fp32 graph passed its own gate against torch at cosine 0.99999); the export's gate then judges the result
on evaluation images the search never saw. int8 fails on classes of images, not on average ones (on the demo,
overexposed infrared frames fell to cosine 0.73 while the mean stayed 0.996), so every step looks at the tail:
1. The activation ranges come from every screened training image (`calibration.py`; minmax by default), so no
   training image is clipped. Ranges drawn from 64 images clipped what unseen people reach: on the demo
   ResNet-50 the layer3 output of one evaluation image went 2.3x past the percentile range, and graphs searched
   to hold on every training image fell to 0.988 (percentile) and 0.986 (minmax over the 64) on it; with the
   ranges of all 467 screened images the same search kept fewer layers and held at 0.996 on every evaluation
   image (`benchmarks/int8_ranges.py` shows the ranges against the images).
   Where several methods are asked for, each fully quantised graph runs once over every screened image and the
   best worst-margin wins.
2. The pool the search must hold on is a stratified draw of the screened images plus those the quantised graph
   hurts most. If the fully quantised graph meets the target on every screened image, nothing is kept in float.
3. Otherwise the layers ("layers" are the nodes that read a dequantised tensor: weighted ops and skip adds) are
   ranked in one run on the pool's worst images (`layer_error.py`: each layer's own int8 error), by error per
   unit of float cost (`cost.py`), and the shortest prefix of that ranking that meets the target on the pool is
   found by bisection (`prefix_search.py`): log2(L) graphs rather than one per layer.
4. The result is checked on every screened image; images that still miss join the pool and the bisection goes
   on from there, within the rounds and the time budget.
5. The costliest layers in the prefix (`give_back_trials` of them) are then offered back to int8 one by one,
   judged on the pool; the result is checked once more on every screened image, and if it misses there the
   prefix ships as it was.
Sessions run the way the flavour's backends will (`ort_cpu.py`): emulated Q/DQ for the TensorRT flavour, the
CPU's integer kernels for the CPU flavour. The ranking run always emulates Q/DQ: it compares each layer with
its own float twin, and the integer kernels would fuse the layers it needs to read.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from vireid_export.int8.calibration import DEFAULT_METHODS, CalibrationMethod, calibrate
from vireid_export.int8.cost import float_costs
from vireid_export.int8.flavours import Int8Flavour
from vireid_export.int8.graph_edit import dequantized_readers, with_float_nodes
from vireid_export.int8.layer_error import layer_errors
from vireid_export.int8.placement import quantizable_nodes
from vireid_export.int8.quantize import prepare, quantize_graph
from vireid_export.onnx_graph import module_path
from vireid_export.ort_cpu import cpu_session, session_embed
from vireid_export.prefix_search import margin, shortest_prefix
from vireid_runtime.manifest import CalibrationScore, KeptLayer, LayerRank, PrecisionPlan
from vireid_runtime.parity import Bar, cosine_rows


@dataclass(frozen=True)
class Int8Job:
    base_onnx: Path
    """The graph to quantise: the fp16 graph (TensorRT flavour) or the fp32 graph (CPU flavour)."""
    flavour: Int8Flavour
    training: np.ndarray
    """The screened training images, preprocessed (N x 3 x H x W)."""
    reference: np.ndarray
    """The fp32 graph's embeddings of `training`."""
    pool_rows: np.ndarray
    """Rows of `training` the result must hold on before the final check (a stratified draw)."""
    target: Bar
    budget_s: float
    ranking_images: int = 16
    """The pool's worst images the layers are ranked on."""
    hardest: int = 32
    """Screened images the chosen graph hurts most that join the pool."""
    methods: tuple[CalibrationMethod, ...] = DEFAULT_METHODS
    batch: int = 8
    rounds: int = 3
    """How many times screened images that still miss the target may join the pool."""
    give_back_trials: int = 8
    """Costly kept layers offered back to int8, most costly first (one graph each). On the demo ResNet-50 an
    uncapped give-back tried about 17 layers on the TensorRT-flavour visible graph, took half of that graph's
    search, and kept 5; the costliest layers are where the speed is."""


def layer_name(node: onnx.NodeProto, initializers: set[str]) -> str:
    """How the model names a node: a convolution's module path, or "<block> residual add"."""
    if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in initializers:
        return node.input[1].removesuffix(".weight")
    path = module_path(node)[:-1]
    if path:
        return f"{path[-1]} {'residual add' if node.op_type == 'Add' else node.op_type}"
    return node.name


class _Searcher:
    def __init__(self, job: Int8Job, scratch: Path) -> None:
        self.job, self.scratch = job, scratch
        self.prepared = scratch / "prepared.onnx"
        prepare(job.base_onnx, self.prepared)
        self.base = onnx.load(str(self.prepared))
        flavour = job.flavour
        self.nodes = quantizable_nodes(self.base.graph, flavour.quantize_residual_adds, flavour.quantize_outputs)
        initializers = {i.name for i in self.base.graph.initializer}
        self.labels = {n.name: layer_name(n, initializers) for n in self.base.graph.node}
        self.batches = [job.training[i : i + job.batch] for i in range(0, len(job.training), job.batch)]
        self.measurements = 0

    def cosine(self, model: onnx.ModelProto, rows: np.ndarray | None = None) -> np.ndarray:
        """Per-image cosine to the reference on the screened images, or on the rows `rows` of them."""
        images, reference = self.job.training, self.job.reference
        if rows is not None:
            images, reference = images[rows], reference[rows]
        session = cpu_session(model, emulate_qdq=self.job.flavour.emulate_on_cpu)
        return cosine_rows(reference, session_embed(session, images))

    def measure(self, quantized: onnx.ModelProto, kept: frozenset[str], rows: np.ndarray | None) -> np.ndarray:
        self.measurements += 1
        return self.cosine(with_float_nodes(quantized, self.base, kept), rows)

    def quantize(self, method: CalibrationMethod, index: int) -> onnx.ModelProto:
        cache = self.scratch / f"ranges-{index}.json"
        flavour = self.job.flavour
        calibrate(self.prepared, method, self.batches, flavour.op_types, cache, symmetric=flavour.signed_activations)
        return quantize_graph(self.prepared, flavour, method, cache, self.nodes)

    def margin(self, cosine: np.ndarray) -> float:
        return margin(self.job.target, cosine)


def _choose_calibration(
    searcher: _Searcher, deadline: float, log: Callable[[str], None]
) -> tuple[CalibrationMethod, onnx.ModelProto, np.ndarray, list[CalibrationScore]]:
    """Each method's fully quantised graph on every screened image; the best worst-margin wins."""
    scores: list[CalibrationScore] = []
    best: tuple[CalibrationMethod, onnx.ModelProto, np.ndarray] | None = None
    for index, method in enumerate(searcher.job.methods):
        if best is not None and time.monotonic() > deadline:
            log(f"    search budget spent; calibration methods after {scores[-1].method} not tried")
            break
        quantized = searcher.quantize(method, index)
        cosine = searcher.cosine(quantized)
        p01 = float(np.percentile(cosine, 1))
        scores.append(CalibrationScore(method.name, float(cosine.min()), float(cosine.mean()), p01))
        log(
            f"    calibration {method.name}: cosine min {cosine.min():.5f}, 1st percentile {p01:.5f}, "
            f"mean {cosine.mean():.5f} on {len(cosine)} screened training images"
        )
        if best is None or searcher.margin(cosine) > searcher.margin(best[2]):
            best = (method, quantized, cosine)
    assert best is not None
    return (*best, scores)


def _with_hardest(rows: np.ndarray, cosine: np.ndarray, count: int) -> np.ndarray:
    """`rows` and the `count` rows of lowest `cosine` (sorted, without repeats)."""
    return np.union1d(rows, np.argsort(cosine, kind="stable")[:count])


COST_FLOOR = 0.01
"""Layers costing under 1 % of the multiply-adds rank by their error alone: among cheap layers only the error
tells which to keep, and error per unit of a near-zero cost would rank every head and attention layer first,
however small its error."""


def _ranked(searcher: _Searcher, quantized: onnx.ModelProto, rows: np.ndarray) -> list[LayerRank]:
    """Every layer reading a dequantised tensor, most worth keeping first: own error per unit of float cost."""
    layers = dequantized_readers(quantized)
    images = searcher.job.training[rows]
    errors = layer_errors(quantized, searcher.base, layers, images, emulate_qdq=True, batch=searcher.job.batch)
    searcher.measurements += 1
    costs = float_costs(searcher.base, layers)
    ranks = [
        LayerRank(searcher.labels.get(n, n), n, float(errors[n].mean()), float(errors[n].max()), round(costs[n], 6))
        for n in layers
    ]
    return sorted(ranks, key=lambda r: r.error_max / max(r.cost, COST_FLOOR), reverse=True)


def _keep_prefix(
    searcher: _Searcher,
    quantized: onnx.ModelProto,
    screened: np.ndarray,
    deadline: float,
    say: Callable[[str], None],
) -> tuple[tuple[str, ...], list[LayerRank], str, int]:
    """Rank once, then bisect for the shortest ranked prefix that holds on the pool and then on every screened
    image; returns the kept nodes, the ranking, the outcome and the pool size."""
    job = searcher.job
    pool = _with_hardest(job.pool_rows, screened, job.hardest)
    worst = pool[np.argsort(screened[pool], kind="stable")][: job.ranking_images]
    say(f"    ranking the layers by their own int8 error on the pool's {len(worst)} worst images (one run)")
    ranking = _ranked(searcher, quantized, worst)
    order = [r.node for r in ranking]
    failing = 0
    for round_ in range(job.rounds + 1):

        def measure(nodes: frozenset[str], rows: np.ndarray = pool) -> np.ndarray:
            return searcher.measure(quantized, nodes, rows)

        say(f"    bisecting {len(order)} ranked layers on {len(pool)} pool images")
        result = shortest_prefix(order, measure, job.target, failing=failing, deadline=deadline, log=say)
        kept = tuple(order[: result.length])
        if not result.met:
            return kept, ranking, result.outcome, len(pool)
        everywhere = searcher.measure(quantized, frozenset(kept), None)
        missing = np.setdiff1d(np.flatnonzero(everywhere < job.target.cos_min), pool)
        if searcher.margin(everywhere) >= 0:
            kept = _give_back_costly(searcher, quantized, kept, ranking, pool, deadline, say)
            return kept, ranking, f"met the target on all {len(everywhere)} screened training images", len(pool)
        if not len(missing) or round_ == job.rounds or time.monotonic() > deadline:
            outcome = (
                f"met the target on {len(pool)} pool images; on all {len(everywhere)} screened images cosine min "
                f"{everywhere.min():.5f}, mean {everywhere.mean():.5f}"
            )
            return kept, ranking, outcome, len(pool)
        say(f"    {len(missing)} screened images still below the target; they join the pool")
        pool = np.union1d(pool, missing)
        failing = result.length  # the images that joined miss the target with this prefix kept
    raise AssertionError("unreachable")


def keeps_costly_layers(plan: PrecisionPlan) -> bool:
    """Whether the plan keeps in float a layer that costs at least `COST_FLOOR` of the multiply-adds."""
    costs = {r.node: r.cost for r in plan.ranking}
    return any(costs.get(layer.node, 0.0) >= COST_FLOOR for layer in plan.kept)


def _give_back_costly(
    searcher: _Searcher,
    quantized: onnx.ModelProto,
    kept: tuple[str, ...],
    ranking: list[LayerRank],
    pool: np.ndarray,
    deadline: float,
    say: Callable[[str], None],
) -> tuple[str, ...]:
    """Try to quantise again each kept layer that costs at least `COST_FLOOR`, most costly first, keeping the
    change where the target still holds on the pool; then check the result once on every screened image, and
    return `kept` unchanged if it misses there. The ranking judges each layer's own error, not how it grows
    downstream, so a costly layer can sit in the prefix only because a later one is needed. Each trial runs on
    the pool (about 150 images), not on all 512 screened: on the demo ResNet-50 the trials on every screened
    image were half of the whole export's time."""
    costs = {r.node: r.cost for r in ranking}
    costly = sorted((n for n in kept if costs.get(n, 0.0) >= COST_FLOOR), key=lambda n: -costs[n])
    costly = costly[: searcher.job.give_back_trials]
    trial_kept, given = kept, []
    for node in costly:
        if len(trial_kept) == 1 or time.monotonic() > deadline:
            break
        trial = tuple(n for n in trial_kept if n != node)
        cosine = searcher.measure(quantized, frozenset(trial), pool)
        if searcher.margin(cosine) >= 0:
            trial_kept = trial
            given.append(searcher.labels.get(node, node))
    if not given:
        return kept
    everywhere = searcher.measure(quantized, frozenset(trial_kept), None)
    names = ", ".join(given)
    if searcher.margin(everywhere) < 0:
        say(f"    quantising {names} again held on the pool but not on every screened image; kept them float")
        return kept
    say(f"    quantised again, the target still holding on every screened image ({everywhere.min():.5f}): {names}")
    return trial_kept


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
        method, quantized, screened, scores = _choose_calibration(searcher, deadline, say)
        kept: tuple[str, ...] = ()
        ranking: list[LayerRank] = []
        pool_size = len(_with_hardest(job.pool_rows, screened, job.hardest))
        outcome = f"met the target on all {len(screened)} screened training images with every layer quantised"
        if searcher.margin(screened) < 0:
            say(f"    {method.name} misses the target {job.target} with every layer quantised")
            kept, ranking, outcome, pool_size = _keep_prefix(searcher, quantized, screened, deadline, say)
            quantized = with_float_nodes(quantized, searcher.base, kept)
    ranks = {r.node: r for r in ranking}
    plan = PrecisionPlan(
        kept=tuple(
            KeptLayer(
                searcher.labels.get(node, node),
                node,
                f"own int8 error {ranks[node].error_max:.1e} of its output power on the worst image, "
                f"{100 * ranks[node].cost:.2f} % of the multiply-adds",
            )
            for node in kept
        ),
        kept_dtype=job.flavour.base,
        candidates=len(searcher.nodes),
        calibration=method.name,
        calibration_scores=tuple(scores),
        target=job.target,
        search_images=pool_size,
        search_seconds=round(time.monotonic() - start, 2),
        outcome=outcome,
        ranking=tuple(ranking),
        screened_images=len(job.training),
        measurements=searcher.measurements,
        weight_bits=7 if job.flavour.weight_reduce_range() else 8,
        placement=job.flavour.placement,
    )
    return quantized, plan
