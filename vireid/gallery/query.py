"""`vireid gallery search`: embed each query with its own branch, search the other modality's partition."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vireid.data.layout import identity_of
from vireid.data.sample import Modality
from vireid.errors import VireidError
from vireid.gallery.embedding import branch
from vireid.gallery.fingerprint import artifact_fingerprint
from vireid.gallery.records import CropFilter, Match
from vireid.gallery.store import GalleryStore


@dataclass(frozen=True)
class QueryResult:
    query: Path
    modality: Modality
    searched: Modality
    identity: int | None
    """The query's identity where its path follows a dataset layout (to mark matches)."""
    matches: tuple[Match, ...]


def other(modality: Modality) -> Modality:
    return "visible" if modality == "infrared" else "infrared"


def search_gallery(
    store: GalleryStore,
    art_dir: str | Path,
    queries: Sequence[Path],
    modality: Modality,
    *,
    top_k: int = 10,
    where: CropFilter | None = None,
    same_modality: bool = False,
    backend: str = "auto",
    precision: str | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> list[QueryResult]:
    if top_k < 1:
        raise VireidError("--top-k must be >= 1")
    if store.fingerprint is None:
        raise VireidError("the gallery is empty; add crops first (`vireid gallery add`)")
    store.fingerprint.require_same(artifact_fingerprint(art_dir), str(art_dir))
    missing = [q for q in queries if not q.is_file()]
    if missing:
        raise VireidError(f"query image {missing[0]} does not exist")
    searched = modality if same_modality else other(modality)
    with branch(art_dir, modality, backend, precision, log) as embed:
        vectors = embed(list(queries))
    found = store.search(searched, vectors, top_k, where or CropFilter())
    return [QueryResult(q, modality, searched, identity_of(q), tuple(m)) for q, m in zip(queries, found, strict=True)]
