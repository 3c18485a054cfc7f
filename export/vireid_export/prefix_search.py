"""The shortest prefix of a ranked list of layers that, kept in higher precision, meets a target: by bisection.

The int8 search ranks its layers once (`int8/layer_error.py`), then asks which prefix of that ranking to keep in
float. Keeping more layers never makes the graph worse in expectation, so "prefix k meets the target" is taken
as monotone in k and the shortest such prefix is found by bisection: ceil(log2(L)) measurements for L layers,
where measuring each layer alone cost L (Polygraphy's `debug precision` bisects the same way; NNCF's accuracy
control reverts ranked groups one at a time instead). Where the monotone assumption fails, bisection still ends
on a prefix that was measured to meet the target; it may be longer than the true shortest, never wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vireid_runtime.parity import Bar

Measure = Callable[[frozenset[str]], np.ndarray]


@dataclass(frozen=True)
class PrefixResult:
    length: int
    """How many of the ranked layers are kept."""
    cosine: np.ndarray | None
    """The measured per-image cosine with that prefix kept (None when nothing could be measured)."""
    met: bool
    measurements: int
    outcome: str


def margin(target: Bar, cosine: np.ndarray) -> float:
    return target.margin(float(cosine.min()), float(cosine.mean()))


def shortest_prefix(
    order: Sequence[str],
    measure: Measure,
    target: Bar,
    *,
    failing: int = 0,
    deadline: float = float("inf"),
    log: Callable[[str], None] = lambda _message: None,
) -> PrefixResult:
    """The smallest k > `failing` for which keeping `order[:k]` meets `target` (`failing` is known to miss it)."""
    low, high = failing, len(order)
    high_cosine: np.ndarray | None = None
    measurements = 0
    while high - low > 1:
        if time.monotonic() > deadline:
            break
        middle = (low + high) // 2
        cosine = measure(frozenset(order[:middle]))
        measurements += 1
        met = margin(target, cosine) >= 0
        log(
            f"    keeping the first {middle} of {len(order)}: cosine min {cosine.min():.5f}, mean {cosine.mean():.5f} "
            f"({'meets' if met else 'misses'} {target})"
        )
        if met:
            high, high_cosine = middle, cosine
        else:
            low = middle
    if high_cosine is None:  # the upper end was never measured: every layer kept, or the budget ran out first
        high_cosine = measure(frozenset(order[:high]))
        measurements += 1
        if margin(target, high_cosine) < 0:
            return PrefixResult(high, high_cosine, False, measurements, "every candidate kept, target still not met")
    if high - low > 1:
        return PrefixResult(high, high_cosine, True, measurements, "search budget spent; a longer prefix was kept")
    return PrefixResult(high, high_cosine, True, measurements, "met the target")
