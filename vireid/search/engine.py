"""Search as an importable function: embed the query and the (cached) gallery, rank by cosine.

A flat gallery over a folder: the folder's embeddings come from a content-keyed cache rather than a stored
gallery, and the ranking is the gallery's one exact ranking (`vireid.gallery.ranking`), so `vireid search`
and `vireid gallery search` cannot rank differently."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vireid.data.images import load_image
from vireid.data.layout import identity_of
from vireid.errors import VireidError
from vireid.gallery.ingest import content_hash
from vireid.gallery.ranking import exact_top_k
from vireid.gallery.records import Crop, Match
from vireid.gallery.store import require_modality
from vireid.search.cache import EmbeddingCache, default_cache_dir
from vireid.search.gallery import gallery_files

if TYPE_CHECKING:
    from vireid.data.sample import Modality
    from vireid_runtime.embedder import Embedder


@dataclass
class SearchResult:
    query: Path
    query_id: int | None
    ranked: list[Match]
    """Best first; each crop's identity is -1 where its path does not say it."""
    gallery_size: int
    cache_hits: int
    cache_misses: int
    modalities: tuple[str, str] = field(default=("infrared", "visible"))
    choice: list[str] = field(default_factory=list)
    """With backend "auto": the line per branch saying what was chosen and why."""


def search(
    art_dir: str | Path,
    query: str | Path,
    gallery: str | Path,
    *,
    query_modality: str = "infrared",
    gallery_modality: str | None = None,
    top_k: int = 10,
    backend: str = "ort-cpu",
    precision: str | None = None,
    cache_dir: Path | None = None,
    batch_size: int = 32,
) -> SearchResult:
    query_kind = require_modality(query_modality, "--query-modality")
    gallery_kind = require_modality(
        gallery_modality or ("visible" if query_kind == "infrared" else "infrared"), "--gallery-modality"
    )
    if top_k < 1:
        raise VireidError("--top-k must be >= 1")
    query = Path(query)
    if not query.is_file():
        raise VireidError(f"query image {query} does not exist")
    files = gallery_files(gallery)
    choice: list[str] = []  # with "auto", each branch is chosen on its own evidence (its line says which)
    query_embedder, gallery_embedder = _load_pair(art_dir, (query_kind, gallery_kind), backend, precision, choice)
    with query_embedder, gallery_embedder:
        query_feature = query_embedder.embed(query_embedder.preprocess([load_image(str(query), query_kind)]))[0]
        cache = EmbeddingCache(
            cache_dir or default_cache_dir(),
            gallery_embedder.artifact.sha256,
            gallery_embedder.backend,
            gallery_embedder.precision,
        )
        keys = [content_hash(path) for path in files]
        found = _gallery_features(gallery_embedder, cache, files, keys, gallery_kind, batch_size)
    matrix = np.stack(found)
    scores, rows = exact_top_k(matrix, query_feature[None], min(top_k, len(files)))
    ranked = [
        Match(int(i), float(score), Crop(keys[i], str(files[i]), gallery_kind, identity=_identity(files[i])))
        for score, i in zip(scores[0], rows[0], strict=True)
        if i >= 0
    ]
    return SearchResult(
        query, identity_of(query), ranked, len(files), cache.hits, cache.misses, (query_kind, gallery_kind), choice
    )


def _load_pair(
    art_dir: str | Path, kinds: tuple[Modality, Modality], backend: str, precision: str | None, choice: list[str]
) -> tuple[Embedder, Embedder]:
    """The query's and the gallery's embedders; a refusal is one line, and the first is closed if the second
    cannot load."""
    from vireid_runtime import RuntimeUserError, load_embedder

    loaded: list[Embedder] = []
    try:
        for kind in kinds:
            loaded.append(load_embedder(art_dir, kind, backend, precision, log=choice.append))
    except (RuntimeUserError, ValueError) as err:
        for embedder in loaded:
            embedder.close()
        raise VireidError(str(err)) from None
    return loaded[0], loaded[1]


def _gallery_features(
    embedder: Embedder, cache: EmbeddingCache, files: list[Path], keys: list[str], kind: Modality, batch_size: int
) -> list[np.ndarray]:
    """Every gallery image's embedding, from the cache where it has one, embedded in batches (and cached) where
    not."""
    found = cache.lookup(keys)
    missing = [i for i, feature in enumerate(found) if feature is None]
    for start in range(0, len(missing), batch_size):
        chunk = missing[start : start + batch_size]
        images = [load_image(str(files[i]), kind) for i in chunk]
        features = embedder.embed(embedder.preprocess(images))
        cache.add([keys[i] for i in chunk], features)
        for i, feature in zip(chunk, features, strict=True):
            found[i] = feature
    if missing:
        cache.save()
    return [feature for feature in found if feature is not None]


def _identity(path: Path) -> int:
    found = identity_of(path)
    return -1 if found is None else found
