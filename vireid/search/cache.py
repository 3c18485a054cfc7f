"""Gallery embedding cache keyed by file content, so a second query over the same gallery embeds nothing.

One `.npz` per (artifact file hash, backend, precision) holds the SHA-256 of each embedded image file (the
gallery's content hash, `vireid.gallery.ingest.content_hash`) and its embedding. A renamed or copied image is
still found; a changed image (same name, new content) is embedded again. Written atomically; a corrupt cache
file is ignored and rebuilt.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from vireid.io.atomic import atomic_write_bytes
from vireid_runtime.cache import cache_dir


def default_cache_dir() -> Path:
    """$VIREID_CACHE/search, else the user cache folder's vireid/search (where the backends' caches live too)."""
    return cache_dir("search")


class EmbeddingCache:
    def __init__(self, folder: Path, artifact_sha256: str, backend: str, precision: str) -> None:
        self.path = folder / f"{artifact_sha256[:16]}-{backend}-{precision}.npz"
        self.entries: dict[str, np.ndarray] = {}
        self.hits = 0
        self.misses = 0
        if self.path.is_file():
            try:
                with np.load(self.path) as data:
                    self.entries = dict(zip(data["keys"].tolist(), data["features"], strict=True))
            except (OSError, ValueError, KeyError):
                self.entries = {}

    def lookup(self, keys: list[str]) -> list[np.ndarray | None]:
        found = [self.entries.get(key) for key in keys]
        self.hits += sum(f is not None for f in found)
        self.misses += sum(f is None for f in found)
        return found

    def add(self, keys: list[str], features: np.ndarray) -> None:
        for key, feature in zip(keys, features, strict=True):
            self.entries[key] = feature

    def save(self) -> None:
        if not self.entries:
            return
        keys = np.array(list(self.entries))
        features = np.stack(list(self.entries.values())).astype(np.float32)
        buffer = io.BytesIO()
        np.savez(buffer, keys=keys, features=features)
        atomic_write_bytes(self.path, buffer.getvalue())
