"""The one interface every gallery store implements, and how a `--store` location picks one.

Ingest, query, removal, eval and the search service talk to `GalleryStore` only, and one conformance suite
(`tests/gallery/test_store_conformance.py`) runs over every implementation (FAISS, milvus-lite, a Milvus server),
so they answer the same question the same way. `store_base.StoreBase` implements the interface's shared half
(guards, fingerprint, errors, matches, `tune`); an engine writes the rest.

What every store promises:
- scores are cosine similarities of L2-normalised vectors (inner products), higher first; equal scores keep one
  order (lower key first), and `search` on an exact index answers exactly what `exact_search` answers;
- what one call wrote, the next call reads (Milvus reads with Strong consistency);
- each image is stored once, by content, however often and however interrupted its ingest;
- every failure the store can name (bad input, a refused filter, a damaged file, an unreachable server) is one
  `VireidError` line, from every method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from vireid.data.sample import Modality
from vireid.errors import VireidError
from vireid.gallery.records import Crop, CropFilter, Fingerprint, GalleryInfo, Match, StoredCrop

MILVUS_SCHEME = "milvus://"


class GalleryBusy(VireidError):
    """The gallery is being written by another process (its single writer); try again when that ends."""


class GalleryStore(Protocol):
    fingerprint: Fingerprint | None
    """The export whose vectors the gallery holds (None: an empty gallery, which searches refuse)."""
    location: str
    """Where the gallery is, as it was given (a folder, a `.db` path, `milvus://HOST:PORT/collection`)."""
    max_k: int
    """The most answers one query may ask for (a Milvus server returns at most 16,384)."""

    def set_fingerprint(self, fingerprint: Fingerprint) -> None:
        """Record the export of a new gallery's first vectors (refused if another one is recorded)."""

    def known(self, contents: Sequence[str]) -> set[str]:
        """Which of these content hashes are stored already."""

    def add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        """Store crops and their vectors (N x dim), durably once this returns; their gallery ids. An image
        already stored stays stored once."""

    def finish(self, log: Callable[[str], None] | None = None) -> None:
        """Bring the index up to date with what `add` stored: fold it in, or build the index the size now calls
        for (`index_choice.plan`, or `--index`)."""

    def search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        """The top `k` crops of `modality` per query row, among those `where` allows, through the index."""

    def exact_search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        """The same question answered by brute force over every stored vector (what `gallery eval` compares)."""

    def remove(self, where: CropFilter) -> int:
        """Remove the crops `where` allows (it must not be empty); returns how many."""

    def info(self) -> GalleryInfo:
        """Crops, index, pending rows, disk and memory per modality that holds crops."""

    def cameras(self, modality: Modality) -> list[str]:
        """The cameras `modality`'s crops come from, sorted."""

    def describe(self, modality: Modality) -> str:
        """The index of `modality`'s partition and its settings, in words."""

    def tune(self, modality: Modality, log: Callable[[str], None]) -> bool:
        """Search `modality` harder from now on (IVF: double nprobe, kept by the store for every later session);
        False where it cannot (an exact index, nprobe already nlist, a gallery opened read-only)."""

    def count(self, modality: Modality, where: CropFilter) -> int:
        """How many crops of `modality` `where` allows (what a search's pages add up to)."""

    def stored(self, ids: Sequence[int]) -> list[StoredCrop]:
        """The crops of these gallery ids that exist, with their vectors (unknown ids are left out)."""

    def span(self, modality: Modality) -> tuple[int, int] | None:
        """A range of capture times that holds every known capture time (> 0) of `modality`'s crops; None when
        none has one. It may be wider than the crops left after a removal, never narrower."""

    def roots(self) -> tuple[str, ...]:
        """The folders the gallery's crops were read from (an image is served only from under one of them)."""

    def add_roots(self, folders: Sequence[str]) -> None:
        """Record folders crops were read from (absolute; a folder under one recorded already adds nothing)."""

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
