"""Speed of `vireid.eval.metrics.evaluate` against the per-query loop of the reference evaluation code.

Method: SYSU-MM01-shaped inputs (3,803 infrared queries from cameras 3 and 6 over 96 identities; per trial a
301-image single-shot gallery, one image per (identity, visible camera) over cameras 1, 2, 4, 5, with 83 of the
384 (identity, camera) pairs missing, the same ones in every trial, drawn from the seed) with cosine distances
between synthetic embeddings (identity centre + modality offset + noise), so the metrics sit in the range of
published models rather than at chance. `--dataset regdb` instead builds one 2,060 x 2,060 RegDB-shaped evaluation
per trial.

Both implementations score the same trials side by side in one process; each is timed over all trials, the run is
repeated `--repeats` times in alternation and the median total is reported, so the ratio is far less sensitive
to other load on the machine than either absolute time. Both results are compared trial by trial (tight
tolerance) before anything is printed. The loop is `vireid.eval.reference`, the oracle the test suite checks `evaluate`
against: ``eval_sysu`` / ``eval_regdb`` of the AGW baseline with a stable argsort and the CMC kept in float64.

    python benchmarks/eval_speed.py [--trials 10] [--seed 0] [--repeats 3] [--dataset sysu|regdb]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vireid.eval.metrics import evaluate
from vireid.eval.reference import reference_scores

SYSU_NUM_IDS = 96
SYSU_NUM_QUERIES = 3803
SYSU_QUERY_CAMERAS = (3, 6)
SYSU_GALLERY_CAMERAS = (1, 2, 4, 5)
SYSU_GALLERY_SIZE = 301
REGDB_NUM_IDS = 206
REGDB_IMAGES_PER_ID = 10
EMBEDDING_DIM = 64
# Noise against unit-variance identity centres that puts SYSU rank-1 near 70 %, the range of published models.
NOISE_SCALE = 1.3


@dataclass(frozen=True)
class Trial:
    """One evaluation's inputs."""

    distmat: np.ndarray
    q_pids: np.ndarray
    g_pids: np.ndarray
    q_camids: np.ndarray
    g_camids: np.ndarray


Scores = tuple[np.ndarray, float, float, int]


def reference_loop(trial: Trial, protocol: str, max_rank: int = 20) -> Scores:
    """eval_sysu / eval_regdb one query at a time (`vireid.eval.reference`)."""
    return reference_scores(
        trial.distmat, trial.q_pids, trial.g_pids, trial.q_camids, trial.g_camids, protocol, max_rank
    )


def vectorised(trial: Trial, protocol: str, max_rank: int = 20) -> Scores:
    metrics = evaluate(
        trial.distmat, trial.q_pids, trial.g_pids, trial.q_camids, trial.g_camids, protocol, max_rank=max_rank
    )
    return metrics.cmc, metrics.mAP, metrics.mINP, metrics.num_valid_queries


def _embed(rng: np.random.Generator, centres: np.ndarray, pids: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """L2-normalised synthetic features: identity centre + modality offset + noise (cosine distance = -dot)."""
    features = centres[pids] + offset + NOISE_SCALE * rng.standard_normal((len(pids), centres.shape[1]))
    normalised: np.ndarray = features / np.linalg.norm(features, axis=1, keepdims=True)
    return normalised


def sysu_trials(num_trials: int, seed: int) -> list[Trial]:
    """Queries (and their features) once; a fresh 301-image gallery sample per trial, as in the SYSU protocol."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((SYSU_NUM_IDS, EMBEDDING_DIM))
    visible_offset, infrared_offset = 0.5 * rng.standard_normal((2, EMBEDDING_DIM))

    q_pids = np.sort(rng.integers(0, SYSU_NUM_IDS, SYSU_NUM_QUERIES))
    q_camids = rng.choice(SYSU_QUERY_CAMERAS, SYSU_NUM_QUERIES)
    q_features = _embed(rng, centres, q_pids, infrared_offset)

    all_pairs = np.array([(pid, cam) for pid in range(SYSU_NUM_IDS) for cam in SYSU_GALLERY_CAMERAS])
    present = np.sort(rng.choice(len(all_pairs), SYSU_GALLERY_SIZE, replace=False))
    g_pids, g_camids = all_pairs[present, 0], all_pairs[present, 1]

    trials = []
    for _ in range(num_trials):
        g_features = _embed(rng, centres, g_pids, visible_offset)
        trials.append(Trial(-(q_features @ g_features.T), q_pids, g_pids, q_camids, g_camids))
    return trials


def regdb_trials(num_trials: int, seed: int) -> list[Trial]:
    """One 2,060 x 2,060 thermal-to-visible evaluation per trial (RegDB's ten splits / ten models)."""
    rng = np.random.default_rng(seed)
    pids = np.repeat(np.arange(REGDB_NUM_IDS), REGDB_IMAGES_PER_ID)
    trials = []
    for _ in range(num_trials):
        centres = rng.standard_normal((REGDB_NUM_IDS, EMBEDDING_DIM))
        visible_offset, thermal_offset = 0.5 * rng.standard_normal((2, EMBEDDING_DIM))
        q_features = _embed(rng, centres, pids, thermal_offset)
        g_features = _embed(rng, centres, pids, visible_offset)
        trials.append(Trial(-(q_features @ g_features.T), pids, pids, np.full(len(pids), 2), np.full(len(pids), 1)))
    return trials


def _time_all(method: Callable[[Trial, str], Scores], trials: list[Trial], protocol: str) -> tuple[float, list[Scores]]:
    start = time.perf_counter()
    scores = [method(trial, protocol) for trial in trials]
    return time.perf_counter() - start, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=10, help="gallery trials (SYSU) or models (RegDB)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats; the median total is reported")
    parser.add_argument("--dataset", choices=("sysu", "regdb"), default="sysu")
    args = parser.parse_args()

    trials = sysu_trials(args.trials, args.seed) if args.dataset == "sysu" else regdb_trials(args.trials, args.seed)
    protocol = args.dataset
    shape = trials[0].distmat.shape

    # One untimed call each, so first-call costs (imports, allocator growth) do not land in either total.
    vectorised(trials[0], protocol)
    reference_loop(trials[0], protocol)
    vector_times, loop_times = [], []
    for _ in range(args.repeats):
        vector_seconds, vector_scores = _time_all(vectorised, trials, protocol)
        loop_seconds, loop_scores = _time_all(reference_loop, trials, protocol)
        vector_times.append(vector_seconds)
        loop_times.append(loop_seconds)

    # CMC is a ratio of counts and should match bit for bit; AP and INP only up to float summation order.
    cmc_exact = all(np.array_equal(fast[0], slow[0]) for fast, slow in zip(vector_scores, loop_scores, strict=True))
    worst = 0.0
    for fast, slow in zip(vector_scores, loop_scores, strict=True):
        np.testing.assert_allclose(fast[0], slow[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fast[1:3], slow[1:3], rtol=1e-12, atol=1e-12)
        assert fast[3] == slow[3], (fast[3], slow[3])
        worst = max(worst, abs(fast[1] - slow[1]), abs(fast[2] - slow[2]))

    vector_total, loop_total = statistics.median(vector_times), statistics.median(loop_times)
    print(f"protocol {protocol}: {args.trials} trials of {shape[0]} queries x {shape[1]} gallery, seed {args.seed}")
    print(f"median of {args.repeats} repeats, side by side in one process")
    print(f"{'':12}{'total s':>10}{'per trial ms':>14}")
    print(f"{'vectorised':12}{vector_total:>10.3f}{1000 * vector_total / args.trials:>14.2f}")
    print(f"{'loop':12}{loop_total:>10.3f}{1000 * loop_total / args.trials:>14.2f}")
    print(
        f"vectorised {vector_total:.3f} s, loop {loop_total:.2f} s, speed-up {loop_total / vector_total:.0f}x, "
        f"identical: yes (CMC {'bit for bit' if cmc_exact else 'within 1e-12'}, mAP/mINP within {worst:.1e})"
    )

    cmc_at = {f"R{k}": [scores[0][k - 1] for scores in vector_scores] for k in (1, 10, 20)}
    columns = cmc_at | {"mAP": [s[1] for s in vector_scores], "mINP": [s[2] for s in vector_scores]}
    summary = ", ".join(f"{name} {100 * np.mean(v):.2f} ± {100 * np.std(v):.2f}" for name, v in columns.items())
    print(f"metrics over trials (mean ± std, %): {summary}")
    print(f"valid queries per trial: {sorted({s[3] for s in vector_scores})}")


if __name__ == "__main__":
    main()
