"""Ranking metrics for visible-infrared re-identification: CMC, mAP and mINP under the SYSU-MM01 and RegDB protocols.

The numbers reproduce the evaluation code the VI-ReID literature reports with (``eval_sysu`` / ``eval_regdb`` of
the AGW baseline, Ye et al., "Deep Learning for Person Re-identification: A Survey and Outlook", TPAMI 2021, also
used by the hetero-center triplet baseline):

- ``"sysu"`` (Wu et al., "RGB-Infrared Cross-Modality Person Re-Identification", ICCV 2017): for an infrared query
  from camera 3 every gallery image from camera 2 is removed, because both cameras are in the same room. CMC is
  computed on the identity-deduplicated ranking (only the first occurrence of each gallery identity counts), as in
  the dataset authors' released protocol; mAP and mINP are computed on the raw ranking after the removal.
- ``"regdb"`` (Nguyen et al., "Person Recognition System Based on a Combination of Body Images from Visible Light
  and Thermal Cameras", Sensors 2017): nothing is removed and CMC is the standard first-match curve.

mINP (mean inverse negative penalty, from the same AGW paper) is, per query, the number of positives divided by
the 1-based rank of the hardest (last) positive. Queries with no positive left in the gallery are skipped and
counted; every average is over the remaining queries.

The one intended difference from the reference code is that ties are broken by a stable argsort (gallery order),
so the ranking does not depend on the numpy version or platform.

How it is computed, without a Python loop over queries: the SYSU camera drop removes the same gallery columns for
every camera-3 query, so queries are split into (at most) two groups that each see a fixed sub-gallery, and
inside a group nothing is dropped. Every metric depends only on where each query's positives land, so instead of a
stable argsort of whole rows, a positive's rank is 1 + (images strictly closer), found by a batched binary search
in the sorted row, + (images at the same distance earlier in the gallery), for which the few rows with ties fall
back to a stable argsort. The SYSU deduplicated rank counts the identities whose closest image comes before the
query's first positive, from a per-identity minimum over gallery columns grouped by identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PROTOCOLS: tuple[str, ...] = ("sysu", "regdb")

SYSU_SAME_ROOM = {3: 2}
"""SYSU-MM01: infrared camera 3 and visible camera 2 film the same room, so matching across them is too easy; a
query from the key's camera is never answered from the value's."""

_SUMMARY_RANKS: tuple[int, ...] = (1, 5, 10, 20)


@dataclass(frozen=True, eq=False)
class Metrics:
    """Result of one evaluation (one gallery trial or one RegDB model)."""

    cmc: np.ndarray
    """CMC[k]: fraction of valid queries whose identity is found within the first k + 1 ranks (read-only)."""
    mAP: float
    """Mean over valid queries of the average precision on the raw ranking."""
    mINP: float
    """Mean over valid queries of (number of positives) / (rank of the last positive)."""
    num_valid_queries: int
    """Queries with at least one positive in their (kept) gallery; every average is over these."""
    num_skipped_queries: int
    """Queries without a positive in their (kept) gallery."""

    def summary(self) -> dict[str, float | int]:
        """Plain numbers for reports and JSON: R1/R5/R10/R20 (those within max_rank), mAP, mINP, valid queries."""
        out: dict[str, float | int] = {f"R{k}": float(self.cmc[k - 1]) for k in _SUMMARY_RANKS if k <= len(self.cmc)}
        out["mAP"] = float(self.mAP)
        out["mINP"] = float(self.mINP)
        out["num_valid_queries"] = int(self.num_valid_queries)
        return out


def evaluate(
    distmat: npt.ArrayLike,
    q_pids: npt.ArrayLike,
    g_pids: npt.ArrayLike,
    q_camids: npt.ArrayLike,
    g_camids: npt.ArrayLike,
    protocol: str,
    max_rank: int = 20,
) -> Metrics:
    """Rank the gallery for every query (smaller distance = more similar) and score it under `protocol`.

    `distmat` is num_query x num_gallery. The CMC always has `max_rank` entries; when fewer gallery identities
    (SYSU) or images (RegDB) than `max_rank` exist it saturates at its last value. Raises ValueError for an unknown
    protocol, inconsistent shapes, NaN distances, or when no query has a positive.
    """
    dist, qp, gp, qc, gc = _validated(distmat, q_pids, g_pids, q_camids, g_camids, protocol, max_rank)
    num_q = dist.shape[0]

    scores = [
        _score_group(dist, qp, gp, query_rows, gallery_columns, deduplicate=protocol == "sysu")
        for query_rows, gallery_columns in _query_groups(protocol, qc, gc)
    ]
    average_precision = np.concatenate([group.average_precision for group in scores])
    inverse_negative_penalty = np.concatenate([group.inverse_negative_penalty for group in scores])
    first_rank = np.concatenate([group.first_rank for group in scores])
    num_valid = len(first_rank)
    if num_valid == 0:
        raise ValueError("no query has a positive in its gallery: check that query and gallery ids use one labelling")

    # minlength pads the histogram with zeros, so the CMC saturates at its last value when ranks stop short of max_rank.
    cmc = np.cumsum(np.bincount(first_rank - 1, minlength=max_rank))[:max_rank] / num_valid
    cmc.setflags(write=False)
    return Metrics(
        cmc=cmc,
        mAP=float(average_precision.mean()),
        mINP=float(inverse_negative_penalty.mean()),
        num_valid_queries=num_valid,
        num_skipped_queries=num_q - num_valid,
    )


def _query_groups(protocol: str, q_camids: np.ndarray, g_camids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(query rows, gallery columns each of them is ranked against), the columns in gallery order.

    SYSU drops the same camera-2 columns for every camera-3 query, so two groups express the whole protocol.
    """
    all_queries, all_gallery = np.arange(len(q_camids)), np.arange(len(g_camids))
    if protocol == "regdb":
        return [(all_queries, all_gallery)]
    same_room = np.isin(q_camids, list(SYSU_SAME_ROOM))
    return [
        (all_queries[~same_room], all_gallery),
        (all_queries[same_room], all_gallery[~np.isin(g_camids, list(SYSU_SAME_ROOM.values()))]),
    ]


def excluded_cameras(protocol: str, query_camera: int) -> frozenset[int]:
    """The gallery cameras `protocol` never answers a query from `query_camera` with (SYSU-MM01's same-room rule;
    none under RegDB's). `evaluate` applies the same rule to whole groups of queries (`_query_groups`)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    same_room = SYSU_SAME_ROOM.get(query_camera) if protocol == "sysu" else None
    return frozenset() if same_room is None else frozenset({same_room})


@dataclass(frozen=True)
class _GroupScores:
    """Per valid query of one group (queries without a positive are left out)."""

    average_precision: np.ndarray
    inverse_negative_penalty: np.ndarray
    first_rank: np.ndarray
    """1-based rank of the first match: in the identity-deduplicated ranking when deduplicating, else raw."""


def _score_group(
    dist: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    query_rows: np.ndarray,
    gallery_columns: np.ndarray,
    deduplicate: bool,
) -> _GroupScores:
    """AP, INP and first-match rank of every query in `query_rows` against the sub-gallery `gallery_columns`."""
    empty = _GroupScores(np.empty(0), np.empty(0), np.empty(0, dtype=np.intp))
    if len(query_rows) == 0 or len(gallery_columns) == 0:
        return empty
    sub_pids = g_pids[gallery_columns]

    # Group the sub-gallery's columns by identity once; a query's positives are then one group, found by lookup.
    by_identity = np.argsort(sub_pids, kind="stable")
    identities, group_starts, group_sizes = np.unique(sub_pids[by_identity], return_index=True, return_counts=True)
    slot = np.minimum(np.searchsorted(identities, q_pids[query_rows]), len(identities) - 1)
    valid = identities[slot] == q_pids[query_rows]
    if not valid.any():
        return empty
    slot = slot[valid]
    # A column subset keeps gallery order, so the stable tie-break by gallery index is unchanged.
    sub_dist = dist[query_rows[valid]]
    if len(gallery_columns) < dist.shape[1]:
        sub_dist = np.take(sub_dist, gallery_columns, axis=1)
    groups = _IdentityGroups(by_identity, group_starts, group_sizes)

    num_pos = group_sizes[slot]
    run_starts = np.cumsum(num_pos) - num_pos
    pos_rows = np.repeat(np.arange(len(slot)), num_pos)
    pos_cols = by_identity[np.repeat(group_starts[slot], num_pos) + np.arange(len(pos_rows)) - run_starts[pos_rows]]
    pos_ranks = _stable_ranks(sub_dist, pos_rows, pos_cols)
    # Within each query's run of positives, rank order: the i-th positive then has i + 1 positives at or above it.
    in_rank_order = np.lexsort((pos_ranks, pos_rows))
    pos_cols, pos_ranks = pos_cols[in_rank_order], pos_ranks[in_rank_order]
    hits_so_far = np.arange(1, len(pos_rows) + 1) - run_starts[pos_rows]

    average_precision = np.bincount(pos_rows, weights=hits_so_far / pos_ranks, minlength=len(slot)) / num_pos
    inverse_negative_penalty = num_pos / pos_ranks[run_starts + num_pos - 1]
    if deduplicate:
        first_rank = _deduplicated_rank(sub_dist, pos_cols[run_starts], slot, groups)
    else:
        first_rank = pos_ranks[run_starts]
    return _GroupScores(average_precision, inverse_negative_penalty, first_rank)


def _stable_ranks(dist: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """1-based rank of gallery image cols[i] in row rows[i] under a stable argsort, without argsorting every row.

    The rank is 1 + (images strictly closer) + (images at the same distance earlier in the gallery). The first
    term is a binary search in the sorted row, far cheaper than a stable argsort of every row (the bulk of the
    reference code's time besides its loop). Rows where a ranked image shares its distance with another image fall
    back to a stable argsort, so the result stays exact.
    """
    num_g = dist.shape[1]
    values = dist[rows, cols]
    sorted_rows = np.sort(dist, axis=1)
    closer = _count_smaller_in_sorted_rows(sorted_rows, rows, values)
    ranks = closer + 1
    # `closer` is where the value itself sits in its sorted row; a tie exists when the next entry is equal too.
    has_tie = (closer + 1 < num_g) & (sorted_rows[rows, np.minimum(closer + 1, num_g - 1)] == values)
    if has_tie.any():
        tied_rows = np.unique(rows[has_tie])
        needs_fallback = np.isin(rows, tied_rows)
        order = np.argsort(dist[tied_rows], axis=1, kind="stable")
        rank_by_column = np.empty_like(order)
        np.put_along_axis(rank_by_column, order, np.arange(1, num_g + 1)[None, :], axis=1)
        local_rows = np.searchsorted(tied_rows, rows[needs_fallback])
        ranks[needs_fallback] = rank_by_column[local_rows, cols[needs_fallback]]
    return ranks


def _count_smaller_in_sorted_rows(sorted_rows: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each i, how many entries of sorted_rows[rows[i]] are < values[i]: one binary search for all i at once.

    numpy's searchsorted takes one sorted array at a time, so this steps through the bisection itself, looping
    over the power-of-two step sizes (log2 of the gallery size) instead of over queries. `last_smaller` is the flat
    index of the last entry known to be < value (one before the row while none is).
    """
    num_g = sorted_rows.shape[1]
    flat = sorted_rows.ravel()
    row_start = rows * num_g
    row_end = row_start + num_g
    last_smaller = row_start - 1
    step = 1 << (num_g.bit_length() - 1)
    while step:
        probe = last_smaller + step
        smaller = (probe < row_end) & (flat[np.minimum(probe, row_end - 1)] < values)
        last_smaller = np.where(smaller, probe, last_smaller)
        step >>= 1
    counts: np.ndarray = last_smaller + 1 - row_start
    return counts


@dataclass(frozen=True)
class _IdentityGroups:
    """Sub-gallery columns grouped by identity: identity u owns by_identity[starts[u] : starts[u] + sizes[u]]."""

    by_identity: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    def reduce(self, values: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
        """`ufunc` (minimum, logical_or, ...) over each identity's columns: num_rows x num_identities.

        `ufunc.reduceat` along the columns is slow for many small groups, so when identities have similar numbers
        of images this loops over the k-th image of every identity instead (a short loop: at most the largest
        group's size), repeating a small group's last image, which minimum and logical_or ignore.
        """
        if len(self.sizes) * int(self.sizes.max()) > 4 * len(self.by_identity):
            reduced: np.ndarray = ufunc.reduceat(values[:, self.by_identity], self.starts, axis=1)
            return reduced
        last = self.sizes - 1
        reduced = np.take(values, self.by_identity[self.starts], axis=1)
        for k in range(1, int(self.sizes.max())):
            ufunc(reduced, np.take(values, self.by_identity[self.starts + np.minimum(k, last)], axis=1), out=reduced)
        return reduced


def _deduplicated_rank(
    dist: np.ndarray, first_match: np.ndarray, own_identity: np.ndarray, groups: _IdentityGroups
) -> np.ndarray:
    """Rank of each query's identity in its identity-deduplicated ranking (the SYSU CMC).

    The identities ahead of the query's own in the deduplicated list are exactly those with an image ahead of the
    query's first positive in the stable ranking. Comparing each identity's closest image against that positive
    settles it, except when they are at the same distance, where gallery order decides: those few rows are
    resolved image by image.
    """
    num_q, num_g = dist.shape
    rows = np.arange(num_q)
    match_dist = dist[rows, first_match][:, None]
    closest_by_identity = groups.reduce(dist, np.minimum)
    ranks: np.ndarray = (closest_by_identity < match_dist).sum(axis=1) + 1

    # The query's own identity always ties (its closest image is the first match) but is never ahead of itself;
    # left in, it would send every row down the slow path below.
    tied = closest_by_identity == match_dist
    tied[rows, own_identity] = False
    tied_rows = np.flatnonzero(tied.any(axis=1))
    if len(tied_rows):
        tied_dist, tied_match = dist[tied_rows], match_dist[tied_rows]
        earlier = np.arange(num_g)[None, :] < first_match[tied_rows, None]
        ahead = (tied_dist < tied_match) | ((tied_dist == tied_match) & earlier)
        ranks[tied_rows] = groups.reduce(ahead, np.logical_or).sum(axis=1) + 1
    return ranks


def _validated(
    distmat: npt.ArrayLike,
    q_pids: npt.ArrayLike,
    g_pids: npt.ArrayLike,
    q_camids: npt.ArrayLike,
    g_camids: npt.ArrayLike,
    protocol: str,
    max_rank: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrays with consistent shapes, or a ValueError that names the mismatch (silent broadcasting would hide it)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    if isinstance(max_rank, bool) or not isinstance(max_rank, int | np.integer) or max_rank < 1:
        raise ValueError(f"max_rank must be a positive integer, got {max_rank!r}")
    dist = np.asarray(distmat)
    if dist.ndim != 2:
        raise ValueError(f"distmat must be 2-D (num_query x num_gallery), got shape {dist.shape}")
    num_q, num_g = dist.shape
    if num_q == 0 or num_g == 0:
        raise ValueError(f"distmat must have at least one query and one gallery image, got shape {dist.shape}")
    if not np.issubdtype(dist.dtype, np.number) or np.issubdtype(dist.dtype, np.complexfloating):
        raise ValueError(f"distmat must hold real numbers, got dtype {dist.dtype}")
    if np.isnan(dist).any():
        raise ValueError("distmat contains NaN: the features or the distance computation are broken")

    arrays = []
    for name, values, expected in (
        ("q_pids", q_pids, num_q),
        ("g_pids", g_pids, num_g),
        ("q_camids", q_camids, num_q),
        ("g_camids", g_camids, num_g),
    ):
        array = np.asarray(values)
        if array.shape != (expected,):
            side = "query" if name.startswith("q") else "gallery"
            raise ValueError(
                f"{name} must be 1-D with one entry per {side} image ({expected}, from distmat {dist.shape}), "
                f"got shape {array.shape}"
            )
        arrays.append(array)
    return dist, arrays[0], arrays[1], arrays[2], arrays[3]
