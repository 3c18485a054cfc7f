"""The shared fp16 / int8 search keeps the fewest layers that meet the target, and says why it stopped."""

from __future__ import annotations

import numpy as np

from vireid_export.greedy import Candidate, keep_fewest
from vireid_runtime.parity import Bar

IMAGES = 6


def _additive(deficits: dict[str, np.ndarray]) -> tuple[list[Candidate], object]:
    """Candidates whose losses add up exactly: cosine = 1 - the sum of the losses of the layers not kept."""
    candidates = [Candidate(name, f"layer {name}", loss) for name, loss in deficits.items()]
    calls: list[frozenset[str]] = []

    def measure(kept: frozenset[str]) -> np.ndarray:
        calls.append(kept)
        return 1.0 - sum((loss for name, loss in deficits.items() if name not in kept), np.zeros(IMAGES))

    measure.calls = calls  # type: ignore[attr-defined]
    return candidates, measure


def _losses() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    losses = {f"small{i}": rng.uniform(0.0, 2e-4, IMAGES) for i in range(8)}
    losses["worst-on-image-3"] = np.where(np.arange(IMAGES) == 3, 0.02, 1e-4)
    losses["broad"] = np.full(IMAGES, 0.0045)
    return losses


def test_keeps_exactly_the_layers_the_target_needs() -> None:
    candidates, measure = _additive(_losses())
    result = keep_fewest(candidates, measure, Bar(cos_min=0.99, cos_mean=0.995))  # type: ignore[arg-type]
    # image 3 alone is below 0.99 until its layer is kept; the mean then needs the broad one too
    assert result.met and set(result.kept) == {"worst-on-image-3", "broad"}, result
    assert result.cosine.min() >= 0.99 and result.cosine.mean() >= 0.995


def test_nothing_is_kept_when_the_target_already_holds() -> None:
    candidates, measure = _additive(_losses())
    result = keep_fewest(candidates, measure, Bar(cos_min=0.9, cos_mean=0.9))  # type: ignore[arg-type]
    assert result.met and result.kept == () and result.measurements == 1


def test_must_keep_is_kept_and_an_unreachable_target_says_so() -> None:
    candidates, measure = _additive(_losses())
    result = keep_fewest(candidates, measure, Bar(cos_min=1.5, cos_mean=1.5), must_keep=("small0",))  # type: ignore[arg-type]
    assert not result.met and "every candidate kept" in result.outcome
    assert result.kept[0] == "small0" and set(result.kept) == set(_losses())


def test_a_spent_budget_stops_the_search_and_says_so() -> None:
    candidates, measure = _additive(_losses())
    result = keep_fewest(candidates, measure, Bar(cos_min=0.99, cos_mean=0.995), budget_s=0.0)  # type: ignore[arg-type]
    assert not result.met and "budget" in result.outcome and result.kept == ()
