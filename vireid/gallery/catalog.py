"""The FAISS gallery's SQLite catalogue: crops and their metadata, each partition's state, the fingerprint.

SQLite is the journal of the gallery: a crop exists once its row is committed here, and the vectors file and
the index files are read only up to what the catalogue says (`partition.py`). WAL mode and one transaction per
ingest batch mean a SIGKILL loses at most the batch in flight, and the gallery stays readable.
Filters (`CropFilter`) become SQL here, over an index on (modality, camera, time).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vireid.data.sample import Modality
from vireid.errors import VireidError
from vireid.gallery.records import GALLERY_FORMAT, Crop, CropFilter, Fingerprint

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS partitions (
    modality TEXT PRIMARY KEY, rows INTEGER NOT NULL, indexed INTEGER NOT NULL, generation INTEGER NOT NULL,
    spec TEXT NOT NULL, index_bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS crops (
    id INTEGER PRIMARY KEY AUTOINCREMENT, content TEXT NOT NULL UNIQUE, path TEXT NOT NULL, modality TEXT NOT NULL,
    row INTEGER NOT NULL, camera TEXT NOT NULL, time INTEGER NOT NULL, track INTEGER NOT NULL,
    identity INTEGER NOT NULL, UNIQUE (modality, row));
CREATE INDEX IF NOT EXISTS crops_where ON crops (modality, camera, time);
"""
_COLUMNS = "id, content, path, modality, camera, time, track, identity"


@dataclass(frozen=True)
class PartitionState:
    modality: Modality
    rows: int
    """Rows of the vectors file that are committed (deleted crops keep their row)."""
    indexed: int
    """Rows below this are in index generation `generation`."""
    generation: int
    spec: str
    index_bytes: int


def crop_of(row: Sequence[object]) -> tuple[int, Crop]:
    gid, content, path, modality, camera, time, track, identity = row
    return int(gid), Crop(str(content), str(path), modality, str(camera), int(time), int(track), int(identity))  # type: ignore[arg-type, call-overload]


class Catalog:
    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        if not create and not path.is_file():
            raise VireidError(
                f"gallery catalogue {path} is missing; is {path.parent} a gallery (`vireid gallery add`)?"
            )
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            if create:
                self.db.executescript(SCHEMA)
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (GALLERY_FORMAT,))
            found = self.meta("format")
        except sqlite3.DatabaseError as err:
            raise VireidError(f"gallery catalogue {path} is not readable ({err}); restore it from a backup") from None
        if found != GALLERY_FORMAT:
            raise VireidError(f"{path} is not a {GALLERY_FORMAT} catalogue (format {found!r})")

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def fingerprint(self) -> Fingerprint | None:
        text = self.meta("fingerprint")
        if text is None:
            return None
        try:
            return Fingerprint(**json.loads(text))
        except (ValueError, TypeError):
            raise VireidError(
                f"gallery catalogue {self.path} holds a malformed fingerprint; restore it from a backup"
            ) from None

    def set_fingerprint(self, fingerprint: Fingerprint) -> None:
        text = json.dumps(fingerprint.__dict__, sort_keys=True)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (text,))

    def partition(self, modality: Modality) -> PartitionState:
        row = self.db.execute(
            "SELECT rows, indexed, generation, spec, index_bytes FROM partitions WHERE modality = ?", (modality,)
        ).fetchone()
        if row is None:
            return PartitionState(modality, 0, 0, 0, "flat", 0)
        return PartitionState(modality, int(row[0]), int(row[1]), int(row[2]), str(row[3]), int(row[4]))

    def stored(self, contents: Sequence[str]) -> dict[str, int]:
        """content hash -> gallery id, for those of `contents` that are stored."""
        found: dict[str, int] = {}
        for start in range(0, len(contents), 500):
            chunk = list(contents[start : start + 500])
            marks = ",".join("?" * len(chunk))
            query = f"SELECT content, id FROM crops WHERE content IN ({marks})"
            found.update((str(content), int(gid)) for content, gid in self.db.execute(query, chunk))
        return found

    def commit_crops(self, modality: Modality, crops: Sequence[Crop], first_row: int) -> list[int]:
        """Insert crops at rows first_row.. and advance the partition, in one transaction."""
        state = self.partition(modality)
        if first_row != state.rows:
            raise VireidError(f"internal: vectors appended at row {first_row}, catalogue expects {state.rows}")
        with self.transaction():
            ids = []
            for offset, crop in enumerate(crops):
                cursor = self.db.execute(
                    "INSERT INTO crops (content, path, modality, row, camera, time, track, identity) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        crop.content,
                        crop.path,
                        modality,
                        first_row + offset,
                        crop.camera,
                        crop.time,
                        crop.track,
                        crop.identity,
                    ),
                )
                ids.append(int(cursor.lastrowid or 0))
            self.save_state(
                PartitionState(
                    modality, state.rows + len(crops), state.indexed, state.generation, state.spec, state.index_bytes
                )
            )
        return ids

    def save_partition(self, state: PartitionState) -> None:
        with self.transaction():
            self.save_state(state)

    def save_state(self, state: PartitionState) -> None:
        """Record a partition's state inside the caller's transaction."""
        self.db.execute(
            "INSERT OR REPLACE INTO partitions VALUES (?, ?, ?, ?, ?, ?)",
            (state.modality, state.rows, state.indexed, state.generation, state.spec, state.index_bytes),
        )

    def snapshot(self) -> _Transaction:
        """`with catalog.snapshot():` every read inside sees one state of the gallery, whatever a writer
        commits meanwhile (WAL readers keep their snapshot until the transaction ends)."""
        self.db.execute("BEGIN")
        return _Transaction(self.db)

    def transaction(self) -> _Transaction:
        """`with catalog.transaction():` commits on success and rolls back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        return _Transaction(self.db)

    def rows(self, modality: Modality, where: CropFilter | None = None, since_row: int = 0) -> np.ndarray:
        """Sorted rows of the live crops of `modality` that `where` allows."""
        sql, args = _where(modality, where or CropFilter())
        cursor = self.db.execute(f"SELECT row FROM crops WHERE {sql} AND row >= ? ORDER BY row", (*args, since_row))
        return np.fromiter((r[0] for r in cursor), dtype=np.int64)

    def crops_at(self, modality: Modality, rows: Sequence[int]) -> dict[int, tuple[int, Crop]]:
        """row -> (gallery id, crop) for the given rows."""
        found: dict[int, tuple[int, Crop]] = {}
        unique = sorted({int(r) for r in rows if r >= 0})
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT row, {_COLUMNS} FROM crops WHERE modality = ? AND row IN ({marks})"
            for record in self.db.execute(query, (modality, *chunk)):
                found[int(record[0])] = crop_of(record[1:])
        return found

    def drop_rows(self, modality: Modality, rows: np.ndarray) -> None:
        for start in range(0, len(rows), 500):
            chunk = [int(r) for r in rows[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM crops WHERE modality = ? AND row IN ({marks})", (modality, *chunk))

    def cameras(self, modality: Modality) -> list[str]:
        query = "SELECT DISTINCT camera FROM crops WHERE modality = ? ORDER BY camera"
        return [str(r[0]) for r in self.db.execute(query, (modality,))]

    def count(self, modality: Modality, where: CropFilter | None = None) -> int:
        sql, args = _where(modality, where or CropFilter())
        return int(self.db.execute(f"SELECT COUNT(*) FROM crops WHERE {sql}", args).fetchone()[0])

    def by_id(self, ids: Sequence[int]) -> list[tuple[int, tuple[int, Crop]]]:
        """(row, (gallery id, crop)) of those of `ids` that are stored, in the order asked."""
        found: dict[int, tuple[int, tuple[int, Crop]]] = {}
        for start in range(0, len(ids), 500):
            chunk = [int(i) for i in ids[start : start + 500]]
            query = f"SELECT row, {_COLUMNS} FROM crops WHERE id IN ({','.join('?' * len(chunk))})"
            for record in self.db.execute(query, chunk):
                gid, crop = crop_of(record[1:])
                found[gid] = (int(record[0]), (gid, crop))
        return [found[i] for i in ids if i in found]

    def span(self, modality: Modality) -> tuple[int, int] | None:
        row = self.db.execute("SELECT MIN(time), MAX(time) FROM crops WHERE modality = ? AND time > 0", (modality,))
        low, high = row.fetchone()
        return None if low is None else (int(low), int(high))

    def roots(self) -> list[str]:
        text = self.meta("roots")
        return [str(folder) for folder in json.loads(text)] if text else []

    def set_roots(self, folders: Sequence[str]) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('roots', ?)", (json.dumps(list(folders)),))

    def close(self) -> None:
        self.db.close()


def _where(modality: Modality, where: CropFilter) -> tuple[str, tuple[object, ...]]:
    clauses, args = ["modality = ?"], list[object]([modality])
    if where.cameras:
        clauses.append(f"camera IN ({','.join('?' * len(where.cameras))})")
        args.extend(where.cameras)
    if where.since is not None:
        clauses.append("time >= ?")
        args.append(where.since)
    if where.until is not None:
        clauses.append("time <= ?")
        args.append(where.until)
    if where.ids:
        clauses.append(f"id IN ({','.join('?' * len(where.ids))})")
        args.extend(where.ids)
    if where.windows:  # integers written into the SQL: a year of nights would pass SQLite's parameter limit
        ranges = " OR ".join(f"(time >= {int(a)} AND time < {int(b)})" for a, b in where.windows)
        clauses.append(f"({ranges})")
    return " AND ".join(clauses), tuple(args)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if kind is not None else "COMMIT")
