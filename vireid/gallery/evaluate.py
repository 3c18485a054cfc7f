"""`vireid gallery eval`: a dataset protocol's queries through the index, against exact search of the same
gallery with the same vectors. The check that sets or refuses the index settings.

Per query, both answers are the top `k` of the other modality, with the protocol's camera rule applied as a
filter (SYSU-MM01: an infrared query from camera 3 never sees visible camera 2). Figures:
- recall@10 against exact: the share of exact search's top 10 that the index returns in its top 10;
- identical top-1: the share of queries whose first answer is the same crop;
- dRank-1 and dmAP@k: index minus exact, in points. AP@k divides by the positives in the top k of either
  answer (whichever holds more), so both are scored against the same denominator and neither exceeds 100 %.
Where an IVF partition misses `Bar`, eval doubles nprobe until it meets it or reaches nlist, and the store
keeps the setting that met it; if none does, the settings are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vireid.data.sample import Modality
from vireid.errors import VireidError
from vireid.gallery.embedding import branch
from vireid.gallery.fingerprint import artifact_fingerprint
from vireid.gallery.metadata import CropSource
from vireid.gallery.query import other
from vireid.gallery.records import CropFilter, Match
from vireid.gallery.store import GalleryStore

SYSU_SAME_ROOM = {"cam3": "cam2"}
"""SYSU-MM01's rule (`vireid.eval.metrics`): infrared camera 3 and visible camera 2 film the same room."""


@dataclass(frozen=True)
class Bar:
    recall_at_10: float = 0.99
    delta_rank1: float = 0.0
    delta_map: float = 0.1


@dataclass(frozen=True)
class GalleryEvaluation:
    queries: int
    k: int
    index: str
    recall_at_10: float
    identical_top1: float
    rank1_exact: float
    rank1_index: float
    map_exact: float
    map_index: float
    passed: bool

    @property
    def delta_rank1(self) -> float:
        return self.rank1_index - self.rank1_exact

    @property
    def delta_map(self) -> float:
        return self.map_index - self.map_exact

    def line(self) -> str:
        return (
            f"{self.index}: recall@10 vs exact {self.recall_at_10:.4f}, identical top-1 {self.identical_top1:.4f}, "
            f"Rank-1 {self.rank1_index:.2f} (exact {self.rank1_exact:.2f}, d {self.delta_rank1:+.2f}), "
            f"mAP@{self.k} {self.map_index:.2f} (exact {self.map_exact:.2f}, d {self.delta_map:+.2f}) over "
            f"{self.queries} queries: {'ok' if self.passed else 'MISSES'}"
        )


def _scores(
    answers: list[list[Match]], positives: Sequence[int], identities: Sequence[int], k: int
) -> tuple[float, float]:
    """Rank-1 and AP@k in percent; AP divides by `positives` per query, the same for both answers compared."""
    rank1, ap = [], []
    for answer, found, identity in zip(answers, positives, identities, strict=True):
        rank1.append(bool(answer) and answer[0].crop.identity == identity)
        hits, total = 0, 0.0
        for rank, match in enumerate(answer[:k], start=1):
            if match.crop.identity == identity:
                hits += 1
                total += hits / rank
        ap.append(total / found if found else 0.0)
    return 100 * float(np.mean(rank1)), 100 * float(np.mean(ap))


def protocol_filter(cameras: Sequence[str], query_camera: str) -> CropFilter | None:
    """The cameras a query may be answered from under the protocol; None when it leaves none."""
    allowed = tuple(c for c in cameras if c != SYSU_SAME_ROOM.get(query_camera))
    if not allowed:
        return None
    return CropFilter(cameras=allowed) if len(allowed) < len(cameras) else CropFilter()


def _positives(answer: list[Match], identity: int, k: int) -> int:
    return sum(m.crop.identity == identity for m in answer[:k])


def compare(
    store: GalleryStore,
    modality: Modality,
    vectors: np.ndarray,
    cameras: Sequence[str],
    identities: Sequence[int],
    k: int,
    index: str,
    bar: Bar,
) -> GalleryEvaluation:
    searched = other(modality)
    answers: list[list[Match]] = []
    truth: list[list[Match]] = []
    stored = store.cameras(searched)
    for vector, camera in zip(vectors, cameras, strict=True):
        where = protocol_filter(stored, camera)
        if where is None:  # the protocol leaves this query no gallery
            answers.append([])
            truth.append([])
            continue
        answers += store.search(searched, vector[None], k, where)
        truth += store.exact_search(searched, vector[None], k, where)
    recall = np.mean(
        [
            len({m.id for m in a[:10]} & {m.id for m in t[:10]}) / max(1, min(10, len(t)))
            for a, t in zip(answers, truth, strict=True)
        ]
    )
    identical = np.mean([bool(a) and bool(t) and a[0].id == t[0].id for a, t in zip(answers, truth, strict=True)])
    # AP@k's denominator: the positives among the top k of either answer, so neither can exceed 100 %
    positives = [
        max(_positives(a, i, k), _positives(t, i, k)) for a, t, i in zip(answers, truth, identities, strict=True)
    ]
    rank1_index, map_index = _scores(answers, positives, identities, k)
    rank1_exact, map_exact = _scores(truth, positives, identities, k)
    passed = bool(
        recall >= bar.recall_at_10
        and abs(rank1_index - rank1_exact) <= bar.delta_rank1
        and abs(map_index - map_exact) <= bar.delta_map
    )
    return GalleryEvaluation(
        len(vectors), k, index, float(recall), float(identical), rank1_exact, rank1_index, map_exact, map_index, passed
    )


def evaluate_gallery(
    store: GalleryStore,
    art_dir: str | Path,
    queries: Sequence[CropSource],
    *,
    k: int = 100,
    bar: Bar = Bar(),
    backend: str = "auto",
    precision: str | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> GalleryEvaluation:
    if store.fingerprint is None:
        raise VireidError(
            "the gallery is empty; add the dataset first (`vireid gallery add GALLERY ART_DIR --data ROOT`)"
        )
    store.fingerprint.require_same(artifact_fingerprint(art_dir), str(art_dir))
    modalities = {q.modality for q in queries}
    if len(modalities) != 1:
        raise VireidError("gallery eval takes queries of one modality")
    modality = modalities.pop()
    with branch(art_dir, modality, backend, precision, log) as embed:
        vectors = np.concatenate([embed([q.path for q in queries[i : i + 32]]) for i in range(0, len(queries), 32)])
    cameras = [q.camera for q in queries]
    identities = [q.identity for q in queries]
    searched = other(modality)
    result = compare(store, modality, vectors, cameras, identities, k, store.describe(searched), bar)
    while not result.passed and store.tune(searched, log):
        result = compare(store, modality, vectors, cameras, identities, k, store.describe(searched), bar)
    return result
