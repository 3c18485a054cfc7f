"""The one exact ranking: FAISS brute force in chunks equals numpy's stable argsort, ids and scores."""

from __future__ import annotations

import numpy as np
import pytest

from vireid.gallery import ranking


@pytest.mark.parametrize("chunk", [7, 65_536])
def test_exact_top_k_equals_brute_force(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(ranking, "CHUNK_ROWS", chunk)
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(50, 8)).astype(np.float32)
    queries = rng.normal(size=(3, 8)).astype(np.float32)
    scores, rows = ranking.exact_top_k(matrix, queries, 10)
    brute = matrix @ queries.T
    for q in range(3):
        order = np.argsort(-brute[:, q], kind="stable")[:10]
        assert rows[q].tolist() == order.tolist()
        np.testing.assert_allclose(scores[q], brute[order, q], atol=1e-6)
    subset = np.array([3, 9, 20, 41])
    _, rows = ranking.exact_top_k(matrix, queries, 6, subset)
    assert set(rows[0][:4].tolist()) == set(subset.tolist()) and rows[0][4:].tolist() == [-1, -1]


def test_rescore_and_merge_keep_the_best_rows() -> None:
    matrix = np.eye(4, dtype=np.float32)
    query = np.array([[0.1, 0.9, 0.5, 0.0]], dtype=np.float32)
    scores, rows = ranking.rescore(matrix, query, np.array([[0, 2, -1]]), 2)
    assert rows.tolist() == [[2, 0]] and np.allclose(scores, [[0.5, 0.1]])
    scores, rows = ranking.merge((scores, rows), ranking.exact_top_k(matrix, query, 1, np.array([1])), 2)
    assert rows.tolist() == [[1, 2]]


@pytest.mark.parametrize("chunk", [2, 65_536])
def test_equal_scores_are_listed_lower_row_first_across_chunks(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(ranking, "CHUNK_ROWS", chunk)
    matrix = np.array([[1, 0], [1, 0], [0, 1], [1, 0], [1, 0], [1, 0]], dtype=np.float32)
    scores, rows = ranking.exact_top_k(matrix, np.array([[1, 0]], dtype=np.float32), 3)
    assert rows.tolist() == [[0, 1, 3]] and scores.tolist() == [[1.0, 1.0, 1.0]]
