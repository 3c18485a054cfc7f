"""The search both fp16 and int8 use: keep the fewest layers in higher precision that meet a target.

Inputs are the candidates, each with its measured sensitivity (per search image, the cosine lost when only that
layer is lowered), and a `measure` function that builds the graph with a given set of layers kept and returns
its per-image cosine to the reference. The search (docs/architecture.md, "Precision searches"):
1. measures the graph with only the layers it must keep; if the target holds, nothing more is kept;
2. otherwise predicts, from the sensitivities, which layers to keep next. Per image the losses of separate
   layers add up closely (on the demo ResNet-50, the sum of the one-layer losses came within 15 % of the
   all-layers loss), so keeping a layer gives its loss back, image by image, and the prediction is exact
   enough to rank candidates by how much they lift the worst margin (min and mean against the target);
3. keeps layers in that order until the prediction meets the target, measures for real, and, when it holds,
   gives back the last ones as long as it still holds; when it does not, predicts again from the measured
   cosines and goes on;
4. stops as soon as the target holds, when no candidate is left, or at the deadline.
The result says which of the three ended it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from vireid_runtime.parity import Bar

Measure = Callable[[frozenset[str]], np.ndarray]


@dataclass(frozen=True)
class Candidate:
    node: str
    """How `measure` names the layer (an ONNX node or a module path)."""
    layer: str
    """How a reader names it."""
    deficits: np.ndarray
    """Per search image: 1 - cosine with only this layer lowered."""

    @property
    def deficit_mean(self) -> float:
        return float(self.deficits.mean())

    @property
    def deficit_min(self) -> float:
        """The loss of the image it hurts most (1 - that image's cosine)."""
        return float(self.deficits.max())


@dataclass(frozen=True)
class SearchResult:
    kept: tuple[str, ...]
    """Nodes kept, in the order the search chose them."""
    cosine: np.ndarray
    met: bool
    outcome: str
    measurements: int


def _margin(target: Bar, cosine: np.ndarray) -> float:
    return target.margin(float(cosine.min()), float(cosine.mean()))


def _next_batch(remaining: list[Candidate], cosine: np.ndarray, target: Bar) -> list[Candidate]:
    """The candidates to keep next, best predicted first, until the prediction meets the target."""
    predicted, batch = cosine.copy(), []
    pool = list(remaining)
    while pool:
        best = max(pool, key=lambda c: _margin(target, np.minimum(1.0, predicted + np.maximum(c.deficits, 0.0))))
        pool.remove(best)
        batch.append(best)
        predicted = np.minimum(1.0, predicted + np.maximum(best.deficits, 0.0))
        if _margin(target, predicted) >= 0:
            break
    return batch


def keep_fewest(
    candidates: list[Candidate],
    measure: Measure,
    target: Bar,
    *,
    must_keep: Collection[str] = (),
    budget_s: float = float("inf"),
    baseline: np.ndarray | None = None,
    log: Callable[[str], None] = lambda _message: None,
) -> SearchResult:
    """Keep the fewest candidates (beyond `must_keep`) for which `measure` meets `target`; see the module doc.

    `baseline` is the measurement with only `must_keep` kept, when the caller already has it.
    """
    deadline = time.monotonic() + budget_s
    kept = list(must_keep)
    cosine = measure(frozenset(kept)) if baseline is None else baseline
    measurements = 0 if baseline is not None else 1
    remaining = [c for c in candidates if c.node not in kept]
    while _margin(target, cosine) < 0:
        if not remaining:
            return SearchResult(tuple(kept), cosine, False, "every candidate kept, target still not met", measurements)
        if time.monotonic() > deadline:
            return SearchResult(tuple(kept), cosine, False, f"search budget of {budget_s:.0f} s spent", measurements)
        batch = _next_batch(remaining, cosine, target)
        for candidate in batch:
            remaining.remove(candidate)
        trial = measure(frozenset(kept + [c.node for c in batch]))
        measurements += 1
        while len(batch) > 1 and _margin(target, trial) >= 0 and time.monotonic() < deadline:
            shorter = measure(frozenset(kept + [c.node for c in batch[:-1]]))
            measurements += 1
            if _margin(target, shorter) < 0:
                break
            remaining.append(batch.pop())
            trial = shorter
        kept += [c.node for c in batch]
        cosine = trial
        log(
            f"    {len(kept)} kept: cosine min {cosine.min():.5f}, mean {cosine.mean():.5f} "
            f"(target {target}) after {measurements} measurements"
        )
    return SearchResult(tuple(kept), cosine, True, "met the target", measurements)
