"""The embedded gallery: FAISS indexes and a SQLite catalogue in one folder, no server.

`GALLERY/catalog.sqlite` (crops, partitions, fingerprint: `catalog.py`) and one folder per modality
(`partition.py`). Modality is a partition, not a filter: a cross-modal query only ever reads the other
modality's files. Opening for reading maps IVF indexes from disk; opening for writing (add, remove) reads
them into memory and writes each change as a new generation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

import numpy as np

from vireid.data.sample import MODALITIES, Modality
from vireid.errors import VireidError
from vireid.gallery.catalog import Catalog
from vireid.gallery.index_choice import IndexSpec, parse
from vireid.gallery.partition import Partition
from vireid.gallery.records import Crop, CropFilter, Fingerprint, GalleryInfo, Match, PartitionInfo

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
        raise VireidError(
            f"gallery {root} is being written by another process (add, remove or eval); run this when it ends"
        ) from None
    return handle


class FaissStore:
    def __init__(self, root: Path, catalog: Catalog, *, writable: bool, index: IndexSpec | None) -> None:
        self.root, self.catalog, self.writable, self.override = root, catalog, writable, index
        self.fingerprint: Fingerprint | None = catalog.fingerprint()
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
        if self.fingerprint is None:
            raise VireidError(f"gallery {self.root} is empty; add crops first (`vireid gallery add`)")
        if modality not in self._partitions:
            self._partitions[modality] = Partition(
                self.root, self.catalog, modality, self.fingerprint.dim, writable=self.writable
            )
        return self._partitions[modality]

    def set_fingerprint(self, fingerprint: Fingerprint) -> None:
        if self.fingerprint is not None:
            self.fingerprint.require_same(fingerprint, f"gallery {self.root}")
            return
        self.catalog.set_fingerprint(fingerprint)
        self.fingerprint = fingerprint

    def known(self, contents: Sequence[str]) -> set[str]:
        return self.catalog.known(contents)

    def add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        ids: list[int] = []
        for modality in MODALITIES:
            rows = [i for i, crop in enumerate(crops) if crop.modality == modality]
            if rows:
                partition = self.partition(modality)
                first = partition.append(vectors[rows])
                ids += self.catalog.commit_crops(modality, [crops[i] for i in rows], first)
                partition.refresh()
        return ids

    def finish(self, log: Callable[[str], None] | None = None) -> None:
        for modality in MODALITIES:
            if self.catalog.partition(modality).rows:
                self.partition(modality).fold(self.override, log)

    def search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        return self._answer(modality, queries, k, where, exact=False)

    def exact_search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        return self._answer(modality, queries, k, where, exact=True)

    def _answer(
        self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter, exact: bool
    ) -> list[list[Match]]:
        """One search inside one catalogue snapshot: a writer's commit in between cannot mix two states."""
        partition = self.partition(modality)
        with self.catalog.snapshot():
            partition.refresh()
            allowed = None if where.empty else self.catalog.rows(modality, where)
            found = partition.exact(queries, k, allowed) if exact else partition.search(queries, k, allowed)
            return self._matches(modality, *found)

    def _matches(self, modality: Modality, scores: np.ndarray, rows: np.ndarray) -> list[list[Match]]:
        crops = self.catalog.crops_at(modality, rows.ravel().tolist())
        return [
            [Match(crops[r][0], float(s), crops[r][1]) for s, r in zip(row_scores, row_rows, strict=True) if r >= 0]
            for row_scores, row_rows in zip(scores, rows, strict=True)
        ]

    def remove(self, where: CropFilter) -> int:
        if where.empty:
            raise VireidError(
                "remove needs --id, --camera, --since or --until (it never empties a gallery by accident)"
            )
        removed = 0
        for modality in MODALITIES:
            rows = self.catalog.rows(modality, where)
            if len(rows):
                self.partition(modality).commit_removal(rows)
                removed += len(rows)
        return removed

    def info(self) -> GalleryInfo:
        parts = []
        for modality in MODALITIES:
            state = self.catalog.partition(modality)
            if not state.rows:
                continue
            partition = self.partition(modality)
            crops = self.catalog.count(modality)
            memory = crops * partition.dim * 4 if not partition.spec.is_ivf else state.index_bytes
            parts.append(
                PartitionInfo(
                    modality,
                    crops,
                    partition.spec.describe(),
                    state.rows - state.indexed,
                    partition.disk_bytes(),
                    memory,
                )
            )
        return GalleryInfo("faiss", str(self.root), self.fingerprint, tuple(parts))

    def cameras(self, modality: Modality) -> list[str]:
        return self.catalog.cameras(modality)

    def describe(self, modality: Modality) -> str:
        return self.partition(modality).spec.describe()

    def tune(self, modality: Modality, log: Callable[[str], None]) -> bool:
        partition = self.partition(modality)
        spec = partition.spec
        if not spec.is_ivf or spec.nprobe >= spec.nlist or not self.writable:
            return False
        partition.save_spec(replace(spec, nprobe=min(spec.nlist, 2 * spec.nprobe)))
        log(f"{modality}: nprobe {spec.nprobe} -> {partition.spec.nprobe}")
        return True

    def close(self) -> None:
        self.catalog.close()
        if self._lock is not None:
            self._lock.close()  # releases the writer lock (so does the process's death)
            self._lock = None
