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

import numpy as np

from vireid.data.sample import MODALITIES, Modality
from vireid.errors import VireidError
from vireid.gallery.catalog import Catalog
from vireid.gallery.index_choice import IndexSpec, parse
from vireid.gallery.partition import Partition
from vireid.gallery.records import Crop, CropFilter, Fingerprint, GalleryInfo, Match, PartitionInfo

CATALOG = "catalog.sqlite"


class FaissStore:
    def __init__(self, root: Path, catalog: Catalog, *, writable: bool, index: IndexSpec | None) -> None:
        self.root, self.catalog, self.writable, self.override = root, catalog, writable, index
        self.fingerprint: Fingerprint | None = catalog.fingerprint()
        self._partitions: dict[str, Partition] = {}
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
        if create:
            root.mkdir(parents=True, exist_ok=True)
        spec = parse(index) if index else None
        return cls(root, Catalog(root / CATALOG, create=create), writable=writable or create, index=spec)

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
        partition = self.partition(modality)
        allowed = None if where.empty else self.catalog.rows(modality, where)
        return self._matches(modality, *partition.search(queries, k, allowed))

    def exact_search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        allowed = None if where.empty else self.catalog.rows(modality, where)
        return self._matches(modality, *self.partition(modality).exact(queries, k, allowed))

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
