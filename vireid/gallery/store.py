"""The one interface both gallery stores implement, and how a `--store` location picks one.

Ingest, query, removal and eval talk to `GalleryStore` only, and one conformance suite
(`tests/gallery/test_store_conformance.py`) runs over both implementations, so FAISS and Milvus answer the same
question the same way. Scores are cosine similarities of L2-normalised vectors (inner products), higher first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from vireid.data.sample import Modality
from vireid.errors import VireidError
from vireid.gallery.records import Crop, CropFilter, Fingerprint, GalleryInfo, Match

MILVUS_SCHEME = "milvus://"


class GalleryStore(Protocol):
    fingerprint: Fingerprint | None

    def set_fingerprint(self, fingerprint: Fingerprint) -> None:
        """Record the export of a new gallery's first vectors (refused if another one is recorded)."""

    def known(self, contents: Sequence[str]) -> set[str]:
        """Which of these content hashes are stored already."""

    def add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        """Commit crops and their vectors (one transaction); returns their gallery ids."""

    def finish(self, log: Callable[[str], None] | None = None) -> None:
        """Fold committed vectors into the indexes (after an ingest or to apply `--index`)."""

    def search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        """The top `k` crops of `modality` per query row, among those `where` allows."""

    def exact_search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        """The same question answered by brute force over every stored vector (what `gallery eval` compares)."""

    def remove(self, where: CropFilter) -> int:
        """Remove the crops `where` allows (it must not be empty); returns how many."""

    def info(self) -> GalleryInfo: ...

    def cameras(self, modality: Modality) -> list[str]:
        """The cameras `modality`'s crops come from."""

    def describe(self, modality: Modality) -> str:
        """The index of `modality`'s partition and its settings, in words."""

    def tune(self, modality: Modality, log: Callable[[str], None]) -> bool:
        """Search `modality` harder next time (IVF: double nprobe, kept by the store); False when it cannot."""

    def close(self) -> None: ...


def open_store(
    location: str | Path, *, create: bool = False, writable: bool = False, index: str | None = None
) -> GalleryStore:
    """`milvus://HOST:PORT[/collection]` or a milvus-lite `.db` path through Milvus, any other path through FAISS.

    `create=False` refuses a location that holds no gallery (one line, nothing created); a FAISS gallery opened
    without `writable` (or `create`) maps its indexes read-only."""
    text = str(location)
    if text.startswith(MILVUS_SCHEME) or text.endswith(".db"):
        from vireid.gallery.milvus_store import MilvusStore

        return MilvusStore.open(text, create=create, index=index)
    from vireid.gallery.faiss_store import FaissStore

    return FaissStore.open(Path(text), create=create, writable=writable or create, index=index)


def require_modality(value: str, option: str) -> Modality:
    if value == "visible":
        return "visible"
    if value == "infrared":
        return "infrared"
    raise VireidError(f"{option} must be visible or infrared, got {value!r}")
