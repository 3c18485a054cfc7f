"""Ranking metrics: hand-computed toy cases per protocol, and the vectorised code against a per-query loop.

The loop reference below re-implements the logic of the widely used ``eval_sysu`` / ``eval_regdb`` (AGW baseline)
with a stable argsort; it is written for clarity, not speed, and is independent of the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from vireid.eval.metrics import Metrics, evaluate
from vireid.eval.reference import reference_scores


def _assert_close(actual: np.ndarray | float, expected: np.ndarray | float) -> None:
    """Equal up to float summation order."""
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def _single_query(
    distances: list[float], g_pids: list[int], g_camids: list[int], q_pid: int, q_camid: int, protocol: str
) -> Metrics:
    return evaluate(np.array([distances]), np.array([q_pid]), np.array(g_pids), [q_camid], g_camids, protocol)


def _cmc_from_rank(rank: int, max_rank: int = 20) -> np.ndarray:
    """The CMC of one valid query whose identity first appears at `rank` (1-based)."""
    return (np.arange(1, max_rank + 1) >= rank).astype(float)


# ---------------------------------------------------------------------------------------------------------------
# Hand-computed cases
# ---------------------------------------------------------------------------------------------------------------


def test_sysu_drops_camera_2_for_camera_3_queries_only() -> None:
    # Gallery in ranking order: g0 (id 1, cam 2), g1 (id 2, cam 1), g2 (id 1, cam 5); the query is id 1.
    distances, g_pids, g_camids = [0.1, 0.2, 0.3], [1, 2, 1], [2, 1, 5]

    # Query from camera 6: nothing dropped. Ranking: +, -, +.
    #   CMC: identity first at rank 1.  AP = (1/1 + 2/3) / 2 = 5/6.  INP = 2 positives / last at rank 3 = 2/3.
    cam6 = _single_query(distances, g_pids, g_camids, q_pid=1, q_camid=6, protocol="sysu")
    _assert_close(cam6.cmc, _cmc_from_rank(1))
    assert cam6.mAP == pytest.approx(5 / 6)
    assert cam6.mINP == pytest.approx(2 / 3)

    # Query from camera 3: g0 (camera 2, same room) is dropped, although it is a positive. Ranking: -, +.
    #   CMC: identity first at rank 2.  AP = 1/2.  INP = 1 positive / rank 2 = 1/2.
    cam3 = _single_query(distances, g_pids, g_camids, q_pid=1, q_camid=3, protocol="sysu")
    _assert_close(cam3.cmc, _cmc_from_rank(2))
    assert cam3.mAP == pytest.approx(1 / 2)
    assert cam3.mINP == pytest.approx(1 / 2)

    # RegDB never drops anything: camera 3 behaves like camera 6.
    regdb = _single_query(distances, g_pids, g_camids, q_pid=1, q_camid=3, protocol="regdb")
    _assert_close(regdb.cmc, cam6.cmc)
    assert (regdb.mAP, regdb.mINP) == pytest.approx((cam6.mAP, cam6.mINP))


def test_sysu_dropped_images_do_not_count_as_negatives() -> None:
    # Ranking: g0 (id 2, cam 2), g1 (id 3, cam 2), g2 (id 1, cam 4), g3 (id 1, cam 1); query id 1.
    # Camera 3: both camera-2 negatives are dropped, so the positives are at kept ranks 1 and 2:
    #   CMC rank 1, AP = (1/1 + 2/2) / 2 = 1, INP = 2/2 = 1.
    # Camera 6: positives at ranks 3 and 4 (dedup list 2, 3, 1: rank 3):
    #   AP = (1/3 + 2/4) / 2 = 5/12, INP = 2/4 = 1/2.
    distances, g_pids, g_camids = [0.1, 0.2, 0.3, 0.4], [2, 3, 1, 1], [2, 2, 4, 1]
    cam3 = _single_query(distances, g_pids, g_camids, q_pid=1, q_camid=3, protocol="sysu")
    _assert_close(cam3.cmc, _cmc_from_rank(1))
    assert (cam3.mAP, cam3.mINP) == pytest.approx((1.0, 1.0))
    cam6 = _single_query(distances, g_pids, g_camids, q_pid=1, q_camid=6, protocol="sysu")
    _assert_close(cam6.cmc, _cmc_from_rank(3))
    assert (cam6.mAP, cam6.mINP) == pytest.approx((5 / 12, 1 / 2))


def test_sysu_cmc_deduplicates_identities_but_map_does_not() -> None:
    # Ranking: g0 (id 5), g1 (id 5), g2 (id 1), g3 (id 7); query id 1 from camera 6, nothing dropped.
    # Raw ranking: the positive is at rank 3. Deduplicated identities: 5, 1, 7 -> the positive is at rank 2.
    #   SYSU CMC = [0, 1, 1, ...]; RegDB CMC = [0, 0, 1, ...].
    #   Both protocols: AP = 1/3 and INP = 1/3 (one positive at raw rank 3).
    distances, g_pids, g_camids = [0.1, 0.2, 0.3, 0.4], [5, 5, 1, 7], [1, 4, 1, 4]
    sysu = _single_query(distances, g_pids, g_camids, q_pid=1, q_camid=6, protocol="sysu")
    regdb = _single_query(distances, g_pids, g_camids, q_pid=1, q_camid=6, protocol="regdb")
    _assert_close(sysu.cmc, _cmc_from_rank(2))
    _assert_close(regdb.cmc, _cmc_from_rank(3))
    for metrics in (sysu, regdb):
        assert (metrics.mAP, metrics.mINP) == pytest.approx((1 / 3, 1 / 3))


@pytest.mark.parametrize("protocol", ["sysu", "regdb"])
def test_query_without_positive_is_skipped_and_counted(protocol: str) -> None:
    # Query 0 (id 1) finds its only positive at rank 1: CMC all ones, AP = INP = 1.
    # Query 1 (id 9) has no image in the gallery: skipped, so the averages are over query 0 alone (not halved).
    # Query 2 (id 4, camera 3) has its only positive in camera 2: skipped under SYSU; under RegDB the positive is
    #   at rank 3 behind ids 1 and 2, so CMC gets 0, 0, 1 from it, AP = 1/3 and INP = 1/3.
    distmat = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    g_pids, g_camids = np.array([1, 2, 4]), np.array([1, 4, 2])
    q_pids, q_camids = np.array([1, 9, 4]), np.array([6, 3, 3])
    metrics = evaluate(distmat, q_pids, g_pids, q_camids, g_camids, protocol)
    if protocol == "sysu":
        assert (metrics.num_valid_queries, metrics.num_skipped_queries) == (1, 2)
        _assert_close(metrics.cmc, _cmc_from_rank(1))
        assert (metrics.mAP, metrics.mINP) == pytest.approx((1.0, 1.0))
    else:
        assert (metrics.num_valid_queries, metrics.num_skipped_queries) == (2, 1)
        _assert_close(metrics.cmc, (_cmc_from_rank(1) + _cmc_from_rank(3)) / 2)
        assert (metrics.mAP, metrics.mINP) == pytest.approx(((1 + 1 / 3) / 2, (1 + 1 / 3) / 2))


@pytest.mark.parametrize("protocol", ["sysu", "regdb"])
def test_ties_follow_gallery_order(protocol: str) -> None:
    # All distances equal, so the ranking is the gallery order.
    # Gallery ids 3, 1, 1 with query id 1: positives at ranks 2 and 3 -> CMC from rank 2, AP = (1/2 + 2/3) / 2 = 7/12,
    #   INP = 2/3. (Dedup changes nothing: id 3 is the only identity ahead.)
    tied = _single_query([0.5, 0.5, 0.5], [3, 1, 1], [1, 4, 5], q_pid=1, q_camid=6, protocol=protocol)
    _assert_close(tied.cmc, _cmc_from_rank(2))
    assert (tied.mAP, tied.mINP) == pytest.approx((7 / 12, 2 / 3))
    # The same images listed as 1, 1, 3: positives at ranks 1 and 2 -> CMC from rank 1, AP = 1, INP = 1.
    reordered = _single_query([0.5, 0.5, 0.5], [1, 1, 3], [4, 5, 1], q_pid=1, q_camid=6, protocol=protocol)
    _assert_close(reordered.cmc, _cmc_from_rank(1))
    assert (reordered.mAP, reordered.mINP) == pytest.approx((1.0, 1.0))
    # A partial tie: g0 is strictly closest; g1 (id 2) and g2 (id 1) tie, so id 2 comes first -> positive at rank 3.
    partial = _single_query([0.1, 0.5, 0.5], [4, 2, 1], [1, 4, 5], q_pid=1, q_camid=6, protocol=protocol)
    _assert_close(partial.cmc, _cmc_from_rank(3))


def test_cmc_saturates_when_gallery_is_shorter_than_max_rank() -> None:
    # Two identities and three images against max_rank 20: the CMC has 20 entries and stays at its last value.
    # Query id 2 behind id 1 twice: SYSU dedup rank 2, RegDB rank 3.
    distances, g_pids, g_camids = [0.1, 0.2, 0.3], [1, 1, 2], [1, 4, 5]
    sysu = _single_query(distances, g_pids, g_camids, q_pid=2, q_camid=6, protocol="sysu")
    regdb = _single_query(distances, g_pids, g_camids, q_pid=2, q_camid=6, protocol="regdb")
    assert sysu.cmc.shape == regdb.cmc.shape == (20,)
    _assert_close(sysu.cmc, _cmc_from_rank(2))
    _assert_close(regdb.cmc, _cmc_from_rank(3))


def test_summary_reports_plain_floats_within_max_rank() -> None:
    metrics = _single_query([0.1, 0.2, 0.3, 0.4], [5, 5, 1, 7], [1, 4, 1, 4], q_pid=1, q_camid=6, protocol="sysu")
    summary = metrics.summary()
    assert summary == {
        "R1": 0.0,
        "R5": 1.0,
        "R10": 1.0,
        "R20": 1.0,
        "mAP": 1 / 3,
        "mINP": 1 / 3,
        "num_valid_queries": 1,
    }
    assert all(type(value) is float for key, value in summary.items() if key != "num_valid_queries")
    short = evaluate([[0.1, 0.2]], [1], [2, 1], [6], [1, 4], "regdb", max_rank=5).summary()
    assert set(short) == {"R1", "R5", "mAP", "mINP", "num_valid_queries"}
    assert (short["R1"], short["R5"]) == (0.0, 1.0)


def test_metrics_are_read_only() -> None:
    metrics = _single_query([0.1, 0.2], [1, 2], [1, 4], q_pid=1, q_camid=6, protocol="regdb")
    with pytest.raises(ValueError):
        metrics.cmc[0] = 0.5
    with pytest.raises(AttributeError):
        metrics.mAP = 0.5  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------------------
# Against a per-query loop
# ---------------------------------------------------------------------------------------------------------------


def _random_case(
    seed: int, num_q: int, num_g: int, tied: bool, skewed: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    num_ids = 12
    g_pids = rng.integers(0, num_ids, num_g)
    if skewed:  # one identity owns half the gallery: very unequal identity groups
        g_pids[rng.permutation(num_g)[: num_g // 2]] = 0
    g_camids = rng.choice([1, 2, 4, 5], num_g)
    # Id 12 lives only in camera 2: its camera-3 queries lose every positive under SYSU.
    g_pids[:2], g_camids[:2] = num_ids, 2
    # Ids 13 and 14 are never in the gallery.
    q_pids = rng.integers(0, num_ids + 3, num_q)
    q_camids = rng.choice([3, 6], num_q)
    q_pids[:4], q_camids[:4] = num_ids, [3, 3, 6, 6]
    # Small integer distances give many ties, which only a stable sort resolves the same way every time.
    distmat = rng.integers(0, 6, (num_q, num_g)).astype(np.float64) if tied else rng.standard_normal((num_q, num_g))
    if tied:  # infinite distances tie with each other too
        distmat[rng.random((num_q, num_g)) < 0.1] = np.inf
    return distmat, q_pids, g_pids, q_camids, g_camids


@pytest.mark.parametrize("protocol", ["sysu", "regdb"])
@pytest.mark.parametrize("tied", [False, True], ids=["continuous", "many-ties"])
@pytest.mark.parametrize(
    ("seed", "num_q", "num_g", "max_rank", "skewed"),
    [
        (0, 80, 40, 20, False),
        (1, 57, 9, 20, False),
        (2, 120, 64, 5, False),
        (5, 70, 50, 20, True),
        (6, 40, 1, 20, False),
        (7, 40, 3, 20, False),
    ],
)
def test_matches_per_query_loop(
    protocol: str, tied: bool, seed: int, num_q: int, num_g: int, max_rank: int, skewed: bool
) -> None:
    distmat, q_pids, g_pids, q_camids, g_camids = _random_case(seed, num_q, num_g, tied, skewed)
    expected_cmc, expected_map, expected_minp, expected_valid = reference_scores(
        distmat, q_pids, g_pids, q_camids, g_camids, protocol, max_rank
    )
    metrics = evaluate(distmat, q_pids, g_pids, q_camids, g_camids, protocol, max_rank=max_rank)

    assert metrics.cmc.shape == (max_rank,)
    _assert_close(metrics.cmc, expected_cmc)
    _assert_close(metrics.mAP, expected_map)
    _assert_close(metrics.mINP, expected_minp)
    assert metrics.num_valid_queries == expected_valid
    assert metrics.num_skipped_queries == num_q - expected_valid
    assert 0 < metrics.num_skipped_queries < num_q  # the case really exercises skipping


def test_sysu_and_regdb_differ_on_the_same_random_input() -> None:
    # Guards against a protocol switch that silently does nothing: camera drop and dedup must move the numbers.
    distmat, q_pids, g_pids, q_camids, g_camids = _random_case(3, 100, 60, tied=False)
    sysu = evaluate(distmat, q_pids, g_pids, q_camids, g_camids, "sysu")
    regdb = evaluate(distmat, q_pids, g_pids, q_camids, g_camids, "regdb")
    assert sysu.num_valid_queries < regdb.num_valid_queries
    assert np.all(sysu.cmc >= 0) and np.all(np.diff(sysu.cmc) >= 0) and sysu.cmc[-1] <= 1
    assert not np.allclose(sysu.cmc, regdb.cmc)


def test_inputs_are_not_modified() -> None:
    distmat, q_pids, g_pids, q_camids, g_camids = _random_case(4, 30, 20, tied=False)
    copies = [array.copy() for array in (distmat, q_pids, g_pids, q_camids, g_camids)]
    evaluate(distmat, q_pids, g_pids, q_camids, g_camids, "sysu")
    for before, after in zip(copies, (distmat, q_pids, g_pids, q_camids, g_camids), strict=True):
        np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------


def _valid_inputs() -> dict[str, object]:
    return {
        "distmat": np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]),
        "q_pids": np.array([1, 2]),
        "g_pids": np.array([1, 2, 3]),
        "q_camids": np.array([3, 6]),
        "g_camids": np.array([1, 2, 4]),
        "protocol": "sysu",
    }


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"protocol": "market"}, "unknown protocol 'market'"),
        ({"protocol": "SYSU"}, "unknown protocol"),
        ({"q_pids": np.array([1, 2, 3])}, "q_pids"),
        ({"g_pids": np.array([1, 2])}, "g_pids"),
        ({"q_camids": np.array([3])}, "q_camids"),
        ({"g_camids": np.array([[1, 2, 4]])}, "g_camids"),
        ({"distmat": np.array([0.1, 0.2, 0.3])}, "2-D"),
        ({"distmat": np.zeros((2, 0))}, "at least one"),
        ({"distmat": np.array([[0.1, np.nan, 0.3], [0.3, 0.2, 0.1]])}, "NaN"),
        ({"max_rank": 0}, "max_rank"),
        ({"q_pids": np.array([7, 8])}, "no query has a positive"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_problem(override: dict[str, object], message: str) -> None:
    kwargs = _valid_inputs() | override
    with pytest.raises(ValueError, match=message):
        evaluate(**kwargs)  # type: ignore[arg-type]
