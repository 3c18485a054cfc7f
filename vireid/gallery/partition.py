"""One modality of a FAISS gallery: an append-only file of raw vectors and, above `FLAT_MAX`, an IVF index.

Files under `GALLERY/<modality>/`:
- `vectors.f32`: row r is the vector of the crop at row r (float32, `dim` wide). Appended and fsynced before
  the catalogue commits the rows, so a SIGKILL leaves at most an uncommitted tail, cut off at the next open.
  Memory-mapped for exact search and re-scoring;
- `index-<generation>.faiss` (IVF kinds): FAISS ids are rows. A new generation is written beside the old one,
  the catalogue then points to it in one transaction, and only then is the old one deleted; a file of another
  generation is a leftover of an interrupted write and is removed on open.
Rows at or above the catalogue's `indexed` mark are committed but not yet folded into the index ("pending"):
they are searched exactly, so a gallery interrupted mid-ingest answers correctly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vireid.data.sample import Modality
from vireid.errors import VireidError
from vireid.gallery import faiss_index, ranking
from vireid.gallery.catalog import Catalog, PartitionState
from vireid.gallery.index_choice import IndexSpec, parse, plan, require_buildable
from vireid.io.atomic import atomic_path

SMALL_FILTER = 20_000
"""A filter allowing at most this many crops is searched exactly over them, not through the IVF index."""


class Partition:
    def __init__(self, root: Path, catalog: Catalog, modality: Modality, dim: int, *, writable: bool) -> None:
        self.folder = root / modality
        self.catalog, self.modality, self.dim, self.writable = catalog, modality, dim, writable
        self.state: PartitionState = catalog.partition(modality)
        self.spec = parse(self.state.spec)
        self.vectors_path = self.folder / "vectors.f32"
        self._index: Any = None
        self._check_vectors()

    # -- files ---------------------------------------------------------------------------------------------
    def _check_vectors(self) -> None:
        committed = self.state.rows * self.dim * 4
        size = self.vectors_path.stat().st_size if self.vectors_path.exists() else 0
        if size < committed:
            raise VireidError(
                f"{self.vectors_path} holds {size // (self.dim * 4)} vectors but the catalogue committed "
                f"{self.state.rows}: the file was truncated or replaced; restore the gallery folder from a backup"
            )
        if size > committed and self.writable:  # an ingest was killed after appending, before committing
            with open(self.vectors_path, "r+b") as handle:
                handle.truncate(committed)
                os.fsync(handle.fileno())
        if self.writable:
            for stale in self.folder.glob("index-*.faiss"):
                if stale.name != self.index_name(self.state.generation):
                    stale.unlink()

    @staticmethod
    def index_name(generation: int) -> str:
        return f"index-{generation:06d}.faiss"

    def matrix(self) -> np.ndarray:
        if self.state.rows == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.memmap(self.vectors_path, dtype=np.float32, mode="r", shape=(self.state.rows, self.dim))

    def append(self, vectors: np.ndarray) -> int:
        """Write vectors at the end of the file (fsynced); returns their first row. The caller commits."""
        self.folder.mkdir(parents=True, exist_ok=True)
        first = self.state.rows
        with open(self.vectors_path, "ab") as handle:
            handle.truncate(first * self.dim * 4)
            handle.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
            handle.flush()
            os.fsync(handle.fileno())
        return first

    def refresh(self) -> None:
        """Read the partition's state again (another process may have committed); a new index generation is
        opened when next needed."""
        generation = self.state.generation
        self.state = self.catalog.partition(self.modality)
        self.spec = parse(self.state.spec)
        if self.state.generation != generation:
            self._index = None

    # -- index ---------------------------------------------------------------------------------------------
    def index(self) -> Any:
        """The IVF index (read memory-mapped and read-only unless the partition is open for writing)."""
        if self._index is None and self.spec.is_ivf and self.state.indexed:
            import faiss

            path = self.folder / self.index_name(self.state.generation)
            if not path.is_file():
                raise VireidError(f"gallery index {path} is missing; restore the gallery folder from a backup")
            if path.stat().st_size != self.state.index_bytes:
                raise VireidError(
                    f"gallery index {path} is {path.stat().st_size} bytes, the catalogue recorded "
                    f"{self.state.index_bytes}: it is corrupt; restore the gallery folder from a backup"
                )
            flags = 0 if self.writable else faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
            try:
                self._index = faiss.read_index(os.fspath(path), flags)
            except RuntimeError as err:
                raise VireidError(
                    f"gallery index {path} is not readable ({str(err).splitlines()[-1][:120]}); "
                    "restore the gallery folder from a backup"
                ) from None
        return self._index

    def fold(self, override: IndexSpec | None, log: Any = None) -> None:
        """Bring the index up to date with every committed row, as `index_choice.plan` says: build it when the
        partition outgrows flat (or `override` asks for another index), else add the pending rows. Writes a new
        generation."""
        live = self.catalog.count(self.modality)
        wanted, rebuild = plan(self.spec, live, override)
        if not wanted.is_ivf:
            if self.spec.is_ivf:
                self._commit_index(None, wanted)
            elif self.state.indexed != self.state.rows:
                self.catalog.save_partition(self._state(indexed=self.state.rows, spec=wanted))
            return
        if not rebuild and self.state.indexed == self.state.rows:
            if wanted != self.spec:
                self.save_spec(wanted)
            return
        if rebuild:
            require_buildable(wanted, live, self.dim, f"{self.modality} crops")
            if log:
                log(f"{self.modality}: building {wanted.describe()} over {live} crops")
            index, rows = self._trained(wanted), self.catalog.rows(self.modality)
        else:
            index, rows = self.index(), self.catalog.rows(self.modality, since_row=self.state.indexed)
        matrix = self.matrix()
        for start in range(0, len(rows), ranking.CHUNK_ROWS):
            chunk = rows[start : start + ranking.CHUNK_ROWS]
            index.add_with_ids(np.ascontiguousarray(matrix[chunk]), chunk)
        self._commit_index(index, wanted)

    def _trained(self, spec: IndexSpec) -> Any:
        """A new, empty IVF index of `spec`, trained on a sample of the live rows (`faiss_index.trained`)."""
        matrix = self.matrix()
        return faiss_index.trained(spec, self.dim, lambda rows: matrix[rows], self.catalog.rows(self.modality))

    def remove_rows(self, rows: np.ndarray) -> None:
        """Take `rows` out of the index (the caller deletes their catalogue rows in the same transaction as
        the new generation is recorded: see `FaissStore.remove`)."""
        index = self.index()
        if index is not None:
            indexed = rows[rows < self.state.indexed]
            if len(indexed):
                import faiss

                index.remove_ids(faiss.IDSelectorBatch(indexed))

    def _commit_index(
        self, index: Any, spec: IndexSpec, drop: np.ndarray | None = None, indexed: int | None = None
    ) -> None:
        """Write `index` as the next generation, then record it (and delete `drop`'s crops) in one transaction;
        `indexed` is the new pending mark (default: every committed row)."""
        import faiss

        generation = self.state.generation + 1
        size = 0
        if index is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / self.index_name(generation)
            with atomic_path(path) as tmp:
                faiss.write_index(index, os.fspath(tmp))
            size = path.stat().st_size
        old = self.folder / self.index_name(self.state.generation)
        with self.catalog.transaction():
            if drop is not None:
                self.catalog.drop_rows(self.modality, drop)
            mark = self.state.rows if indexed is None else indexed
            self.catalog.save_state(self._state(indexed=mark, spec=spec, generation=generation, size=size))
        if old.exists():
            old.unlink()
        self.refresh()
        self._index = index

    def commit_removal(self, rows: np.ndarray) -> None:
        if self.spec.is_ivf and self.state.indexed:
            self.remove_rows(rows)
            self._commit_index(self.index(), self.spec, drop=rows, indexed=self.state.indexed)
        else:
            with self.catalog.transaction():
                self.catalog.drop_rows(self.modality, rows)

    def save_spec(self, spec: IndexSpec) -> None:
        """Record new search settings of the same index (nprobe, rescore); the index file is unchanged."""
        self.catalog.save_partition(self._state(indexed=self.state.indexed, spec=spec))
        self.refresh()

    def _state(
        self, *, indexed: int, spec: IndexSpec, generation: int | None = None, size: int | None = None
    ) -> PartitionState:
        s = self.state
        return PartitionState(
            s.modality,
            s.rows,
            indexed,
            s.generation if generation is None else generation,
            spec.text(),
            s.index_bytes if size is None else size,
        )

    # -- search --------------------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the best `k` live rows per query, among `allowed` rows (None: every live row)."""
        matrix = self.matrix()
        index = self.index() if self.spec.is_ivf else None
        if index is None or (allowed is not None and len(allowed) <= SMALL_FILTER):
            rows = self.catalog.rows(self.modality) if allowed is None else allowed
            return ranking.exact_top_k(matrix, queries, k, rows)
        import faiss

        params = faiss.SearchParametersIVF()
        params.nprobe = self.spec.nprobe
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            params.sel = selector  # `selector` stays referenced until the search returns
        _, candidates = index.search(
            np.ascontiguousarray(queries, dtype=np.float32), k * self.spec.rescore, params=params
        )
        found = ranking.rescore(matrix, queries, candidates, k)
        pending = self.catalog.rows(self.modality, since_row=self.state.indexed)
        if allowed is not None:
            pending = np.intersect1d(pending, allowed)
        if len(pending):
            found = ranking.merge(found, ranking.exact_top_k(matrix, queries, k, pending), k)
        return found

    def exact(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        rows = self.catalog.rows(self.modality) if allowed is None else allowed
        return ranking.exact_top_k(self.matrix(), queries, k, rows)

    def disk_bytes(self) -> int:
        files = [self.vectors_path, self.folder / self.index_name(self.state.generation)]
        return sum(f.stat().st_size for f in files if f.exists())
