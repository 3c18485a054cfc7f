"""The embedded gallery: FAISS indexes and a SQLite catalogue in one folder, no server.

`GALLERY/catalog.sqlite` (crops, partitions, fingerprint: `catalog.py`) and one folder per modality
(`partition.py`). Modality is a partition, not a filter: a cross-modal query only ever reads the other
modality's files. Opening for reading maps IVF indexes from disk; opening for writing (add, remove) reads
them into memory and writes each change as a new generation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from vireid.data.sample import MODALITIES, Modality
from vireid.errors import VireidError
from vireid.gallery.catalog import Catalog
from vireid.gallery.index_choice import IndexSpec, parse
from vireid.gallery.partition import Partition
from vireid.gallery.records import Crop, CropFilter, Fingerprint, PartitionInfo, StoredCrop
from vireid.gallery.store import GalleryBusy
from vireid.gallery.store_base import Log, Ranked, StoreBase

CATALOG = "catalog.sqlite"
LOCK = ".writer.lock"


def _writer_lock(root: Path) -> IO[bytes]:
    """One writer at a time: `add`, `remove` and `eval` hold an exclusive lock on GALLERY/.writer.lock.
    A writable open cuts uncommitted vectors and stale index files, which would be another writer's work in
    flight. Readers take no lock: they read committed state only."""
    import fcntl

    handle = open(root / LOCK, "ab")  # noqa: SIM115 (held open until close: the lock lives with the handle)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise GalleryBusy(
            f"gallery {root} is being written by another process (add, remove or eval); run this when it ends"
        ) from None
    return handle


class FaissStore(StoreBase):
    store = "faiss"

    def __init__(self, root: Path, catalog: Catalog, *, writable: bool, index: IndexSpec | None) -> None:
        self.root, self.catalog, self.writable, self.override = root, catalog, writable, index
        self.location = str(root)
        self.fingerprint = catalog.fingerprint()
        self._partitions: dict[str, Partition] = {}
        self._lock: IO[bytes] | None = None
        if writable and self.fingerprint is not None:  # cut what a killed ingest appended but never committed
            for modality in MODALITIES:
                if (root / modality).is_dir():
                    self.partition(modality)

    @classmethod
    def open(cls, root: Path, *, create: bool, writable: bool, index: str | None = None) -> FaissStore:
        if root.exists() and not root.is_dir():
            raise VireidError(f"gallery {root} is a file; a FAISS gallery is a folder")
        if not create and not (root / CATALOG).is_file():
            raise VireidError(f"{root} is not a gallery (no {CATALOG}); create one with `vireid gallery add`")
        spec = parse(index) if index else None
        lock = None
        try:
            if create:
                root.mkdir(parents=True, exist_ok=True)
            if writable or create:
                lock = _writer_lock(root)
        except OSError as err:
            raise VireidError(f"cannot open gallery {root} for writing: {err.strerror}") from None
        store = cls(root, Catalog(root / CATALOG, create=create), writable=writable or create, index=spec)
        store._lock = lock
        return store

    def partition(self, modality: Modality) -> Partition:
        fingerprint = self._filled()
        if modality not in self._partitions:
            self._partitions[modality] = Partition(
                self.root, self.catalog, modality, fingerprint.dim, writable=self.writable
            )
        return self._partitions[modality]

    def _one_line(self, err: Exception) -> str | None:
        if isinstance(err, sqlite3.Error):
            return f"gallery catalogue {self.root / CATALOG} failed: {str(err).splitlines()[0][:200]}"
        if isinstance(err, OSError):
            return f"gallery {self.root}: {err.strerror or err}" + (f" ({err.filename})" if err.filename else "")
        return None

    def _create(self, fingerprint: Fingerprint) -> None:
        self.catalog.set_fingerprint(fingerprint)

    def _known(self, contents: Sequence[str]) -> set[str]:
        return set(self.catalog.stored(contents))

    def _add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        ids = self.catalog.stored([c.content for c in crops])  # an image stored already keeps its one entry
        for modality in MODALITIES:
            rows = [i for i, crop in enumerate(crops) if crop.modality == modality and crop.content not in ids]
            if rows:
                partition = self.partition(modality)
                first = partition.append(vectors[rows])
                added = self.catalog.commit_crops(modality, [crops[i] for i in rows], first)
                ids.update(zip((crops[i].content for i in rows), added, strict=True))
                partition.refresh()
        return [ids[c.content] for c in crops]

    def _finish(self, log: Log) -> None:
        for modality in MODALITIES:
            if self.catalog.partition(modality).rows:
                self.partition(modality).fold(self.override, log)

    def _rank(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter, exact: bool) -> Ranked:
        """One search inside one catalogue snapshot: a writer's commit in between cannot mix two states."""
        partition = self.partition(modality)
        with self.catalog.snapshot():
            partition.refresh()
            allowed = None if where.empty else self.catalog.rows(modality, where)
            scores, rows = partition.exact(queries, k, allowed) if exact else partition.search(queries, k, allowed)
            return Ranked(scores, rows, self.catalog.crops_at(modality, rows.ravel().tolist()))

    def _remove(self, where: CropFilter) -> int:
        removed = 0
        for modality in MODALITIES:
            rows = self.catalog.rows(modality, where)
            if len(rows):
                self.partition(modality).commit_removal(rows)
                removed += len(rows)
        return removed

    def _partition_info(self, modality: Modality) -> PartitionInfo:
        state = self.catalog.partition(modality)
        if not state.rows:
            return PartitionInfo(modality, 0, "")
        partition = self.partition(modality)
        crops = self.catalog.count(modality)
        memory = state.index_bytes if partition.spec.is_ivf else crops * partition.dim * 4
        pending = state.rows - state.indexed
        return PartitionInfo(modality, crops, partition.spec.describe(), pending, partition.disk_bytes(), memory)

    def _cameras(self, modality: Modality) -> list[str]:
        return self.catalog.cameras(modality)

    def _spec(self, modality: Modality) -> IndexSpec:
        return self.partition(modality).spec

    def _save_spec(self, modality: Modality, spec: IndexSpec) -> None:
        self.partition(modality).save_spec(spec)

    def _count(self, modality: Modality, where: CropFilter) -> int:
        return self.catalog.count(modality, where)

    def _stored(self, ids: list[int]) -> list[StoredCrop]:
        found = []
        for row, (gallery_id, crop) in self.catalog.by_id(ids):
            vector = np.array(self.partition(crop.modality).matrix()[row], dtype=np.float32)
            found.append(StoredCrop(gallery_id, crop, vector))
        return found

    def _span(self, modality: Modality) -> tuple[int, int] | None:
        return self.catalog.span(modality)

    def _roots(self) -> list[str]:
        return self.catalog.roots()

    def _save_roots(self, folders: list[str]) -> None:
        self.catalog.set_roots(folders)

    def _close(self) -> None:
        self.catalog.close()
        if self._lock is not None:
            self._lock.close()  # releases the writer lock (so does the process's death)
            self._lock = None
