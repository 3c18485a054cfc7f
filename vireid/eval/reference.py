"""The published evaluation's per-query loop: the oracle `metrics.evaluate` is tested and timed against.

It follows ``eval_sysu`` / ``eval_regdb`` of the AGW baseline code that the paper's baseline evaluates with, one
query at a time: SYSU-MM01 drops camera 2 from a camera-3 query's gallery (same room) and counts an identity once
in the CMC but every image in mAP and mINP; RegDB keeps everything. Two deliberate differences make a tight
comparison possible: a stable argsort (ties keep gallery order) and a CMC kept in float64 (the original casts it to
float32). Nothing in the product calls it; `tests/eval/test_metrics.py` checks `evaluate` against it and
`benchmarks/eval_speed.py` times the two side by side.
"""

from __future__ import annotations

import numpy as np


def reference_scores(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    protocol: str,
    max_rank: int = 20,
) -> tuple[np.ndarray, float, float, int]:
    """(CMC padded to `max_rank`, mAP, mINP, queries with a positive), one query at a time."""
    num_q, num_g = distmat.shape
    indices = np.argsort(distmat, axis=1, kind="stable")
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_cmc, all_ap, all_inp = [], [], []
    num_valid = 0
    for q_idx in range(num_q):
        order = indices[q_idx]
        keep = ~((q_camids[q_idx] == 3) & (g_camids[order] == 2)) if protocol == "sysu" else np.ones(num_g, bool)
        raw = matches[q_idx][keep]
        if not np.any(raw):
            continue
        num_valid += 1

        if protocol == "sysu":
            labels = g_pids[order][keep]
            first_occurrences = np.sort(np.unique(labels, return_index=True)[1])
            hits = (labels[first_occurrences] == q_pids[q_idx]).astype(np.int32).cumsum()
        else:
            hits = raw.cumsum()
            hits[hits > 1] = 1
        hits = hits[:max_rank]
        all_cmc.append(np.pad(hits, (0, max_rank - len(hits)), mode="edge"))

        cumulative = raw.cumsum()
        last_positive = np.max(np.where(raw == 1))
        all_inp.append(cumulative[last_positive] / (last_positive + 1.0))
        precision = cumulative / np.arange(1.0, len(raw) + 1.0) * raw
        all_ap.append(precision.sum() / raw.sum())

    cmc = np.asarray(all_cmc, dtype=np.float64).sum(0) / num_valid
    return cmc, float(np.mean(all_ap)), float(np.mean(all_inp)), num_valid
