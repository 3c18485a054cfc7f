"""`vireid gallery add`: hash, skip what is stored, embed in batches, commit each batch.

Idempotent: a crop is known by its content hash, so the same image is never stored twice, whatever its name.
Resumable: each batch is one commit (`GalleryStore.add`); a SIGKILL loses at most the batch in flight, and a
re-run skips everything committed and completes the rest. Embedding and storing are timed apart, because the
store must not be what an ingest waits on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vireid.data.sample import MODALITIES
from vireid.errors import VireidError
from vireid.gallery.embedding import branch
from vireid.gallery.fingerprint import artifact_fingerprint
from vireid.gallery.metadata import CropSource
from vireid.gallery.records import Crop
from vireid.gallery.store import GalleryStore
from vireid.progress import progress


@dataclass(frozen=True)
class IngestResult:
    added: int
    skipped: int
    """Images already stored (same content), or repeated in the input."""
    embed_seconds: float
    store_seconds: float


def content_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:
        raise VireidError(f"cannot read {path}: {err.strerror}") from None


def ingest(
    store: GalleryStore,
    art_dir: str | Path,
    sources: Sequence[CropSource],
    *,
    backend: str = "auto",
    precision: str | None = None,
    batch: int = 32,
    log: Callable[[str], None] = lambda _line: None,
    roots: Sequence[Path] | None = None,
) -> IngestResult:
    """`roots`: the folders the crops come from (a dataset's root); None: the folders holding them. The gallery
    records them before any crop, and serves images only from under them (`vireid serve`)."""
    if batch < 1:
        raise VireidError("--batch must be >= 1")
    store.set_fingerprint(artifact_fingerprint(art_dir))
    folders = roots if roots is not None else [s.path.parent for s in sources]
    store.add_roots([str(Path(folder).resolve()) for folder in folders])
    hashes = [content_hash(s.path) for s in sources]
    stored = store.known(list(dict.fromkeys(hashes)))
    todo: dict[str, CropSource] = {}
    for source, digest in zip(sources, hashes, strict=True):
        if digest not in stored:
            todo.setdefault(digest, source)
    embed_s = store_s = 0.0
    with progress(len(todo), "embedding crops") as advance:
        for modality in MODALITIES:
            pending = [(d, s) for d, s in todo.items() if s.modality == modality]
            if not pending:
                continue
            with branch(art_dir, modality, backend, precision, log) as embed:
                for start in range(0, len(pending), batch):
                    chunk = pending[start : start + batch]
                    began = time.perf_counter()
                    vectors = embed([s.path for _, s in chunk])
                    stored_at = time.perf_counter()
                    crops = [
                        Crop(d, str(s.path.resolve()), modality, s.camera, s.time, s.track, s.identity)
                        for d, s in chunk
                    ]
                    store.add(crops, np.asarray(vectors, dtype=np.float32))
                    embed_s += stored_at - began
                    store_s += time.perf_counter() - stored_at
                    advance(len(chunk))
    began = time.perf_counter()
    store.finish(log)
    store_s += time.perf_counter() - began
    return IngestResult(len(todo), len(sources) - len(todo), round(embed_s, 3), round(store_s, 3))
