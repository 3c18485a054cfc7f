"""`vireid gallery eval`: a dataset protocol's queries through the index, against exact search of the same
gallery with the same vectors. The check that sets or refuses the index settings, and its verdict.

Per query, both answers are the top `k` of the other modality, with the dataset protocol's own camera rule
(`vireid.eval.metrics.excluded_cameras`: SYSU-MM01's infrared camera 3 never sees visible camera 2; RegDB has no
rule) applied as a filter. Figures:
- recall@10 against exact: the share of exact search's top 10 that the index returns in its top 10;
- identical top-1: the share of queries whose first answer is the same crop;
- dRank-1 and dmAP@k: index minus exact, in points. AP@k divides by the positives in the top k of either
  answer (whichever holds more), so both are scored against the same denominator and neither exceeds 100 %.
Where an IVF partition misses `Bar`, eval doubles nprobe until it meets it or reaches nlist, and the store
keeps the setting that met it; if none does, the settings are refused. An evaluation of no query is refused
rather than passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vireid.data.sample import Modality
from vireid.errors import VireidError
from vireid.eval.metrics import excluded_cameras
from vireid.gallery.embedding import branch
from vireid.gallery.fingerprint import artifact_fingerprint
from vireid.gallery.metadata import CropSource, camera_id, camera_name, from_dataset
from vireid.gallery.query import other
from vireid.gallery.records import CropFilter, Match
from vireid.gallery.store import GalleryStore

NO_QUERIES = "gallery eval has no query to evaluate"


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


def protocol_filter(cameras: Sequence[str], protocol: str, query_camera: str) -> CropFilter | None:
    """The stored `cameras` a query from `query_camera` may be answered from under `protocol`: None when it
    leaves none, an empty filter when it leaves all."""
    camid = camera_id(query_camera)
    excluded = {camera_name(c) for c in excluded_cameras(protocol, camid)} if camid is not None else set()
    allowed = tuple(c for c in cameras if c not in excluded)
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
    protocol: str,
) -> GalleryEvaluation:
    """The queries (`vectors` of `modality`, from `cameras`) through the index and through exact search."""
    if len(vectors) == 0:
        raise VireidError(NO_QUERIES)
    searched = other(modality)
    answers: list[list[Match]] = []
    truth: list[list[Match]] = []
    stored = store.cameras(searched)
    for vector, camera in zip(vectors, cameras, strict=True):
        where = protocol_filter(stored, protocol, camera)
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


@dataclass(frozen=True)
class GalleryVerdict:
    """Every direction `gallery eval` could evaluate, and whether the index passed in all of them."""

    evaluations: tuple[GalleryEvaluation, ...]

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.evaluations)

    def lines(self) -> list[str]:
        return [e.line() for e in self.evaluations]

    def require_passed(self) -> None:
        if not self.passed:
            raise VireidError("the index misses exact search's answers at every nprobe; use --index flat or ivf-flat")


def evaluate_dataset(
    store: GalleryStore,
    art_dir: str | Path,
    data: Path,
    *,
    k: int = 100,
    bar: Bar = Bar(),
    backend: str = "auto",
    precision: str | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> GalleryVerdict:
    """The dataset's evaluation images as queries, each modality's against the other's crops where the gallery
    holds them; refused when that leaves nothing to evaluate."""
    sources = from_dataset(data)
    held = {p.modality for p in store.info().partitions}
    evaluations = []
    for modality in ("infrared", "visible"):
        queries = [s for s in sources if s.modality == modality]
        if queries and other(modality) in held:
            evaluations.append(
                evaluate_gallery(store, art_dir, queries, k=k, bar=bar, backend=backend, precision=precision, log=log)
            )
    if not evaluations:
        raise VireidError(
            f"{NO_QUERIES}: the gallery holds no crops that {data}'s queries search; add them first "
            f"(`vireid gallery add GALLERY ART_DIR --data {data}`)"
        )
    return GalleryVerdict(tuple(evaluations))


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
    """`queries` of one modality (read from a dataset: `from_dataset`, whose protocol they carry) against the
    other modality; an IVF index that misses `bar` is tuned until it meets it or cannot search harder."""
    if not queries:
        raise VireidError(NO_QUERIES)
    if store.fingerprint is None:
        raise VireidError(
            "the gallery is empty; add the dataset first (`vireid gallery add GALLERY ART_DIR --data ROOT`)"
        )
    store.fingerprint.require_same(artifact_fingerprint(art_dir), str(art_dir))
    modalities = {q.modality for q in queries}
    protocols = {q.protocol for q in queries}
    if len(modalities) != 1 or len(protocols) != 1 or "" in protocols:
        raise VireidError("gallery eval takes the queries of one modality of one dataset (`--data ROOT`)")
    modality, protocol = modalities.pop(), protocols.pop()
    with branch(art_dir, modality, backend, precision, log) as embed:
        vectors = np.concatenate([embed([q.path for q in queries[i : i + 32]]) for i in range(0, len(queries), 32)])
    cameras = [q.camera for q in queries]
    identities = [q.identity for q in queries]
    searched = other(modality)

    def judged() -> GalleryEvaluation:
        return compare(store, modality, vectors, cameras, identities, k, store.describe(searched), bar, protocol)

    result = judged()
    while not result.passed and store.tune(searched, log):
        result = judged()
    return result
