"""The parity figures: directions and norms both count, because the embeddings are promised L2-normalised."""

from __future__ import annotations

import numpy as np

from vireid_runtime.parity import Bar, cosine_rows, parity_figures

BAR = Bar(cos_min=0.99, cos_mean=0.995)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_same_directions_with_the_wrong_norms_fail() -> None:
    reference = _unit(np.random.default_rng(0).normal(size=(8, 32)))
    assert parity_figures(reference, reference.copy(), BAR).passed
    unnormalised = parity_figures(reference, 2.0 * reference, BAR)  # every cosine is exactly 1
    assert unnormalised.cos_min > 0.999999 and not unnormalised.norms_ok and not unnormalised.passed
    assert "not 1 (the output must be normalised)" in unnormalised.describe()


def test_a_non_finite_row_scores_minus_one_and_fails() -> None:
    reference = _unit(np.random.default_rng(1).normal(size=(4, 16)))
    broken = reference.copy()
    broken[2, 3] = np.nan
    assert cosine_rows(reference, broken)[2] == -1.0
    assert not parity_figures(reference, broken, BAR).passed
