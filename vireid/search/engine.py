"""Search as an importable function: embed the query and the (cached) gallery, rank by cosine.

A flat gallery over a folder: the folder's embeddings come from a content-keyed cache rather than a stored
gallery, and the ranking is the gallery's one exact ranking (`vireid.gallery.ranking`), so `vireid search`
and `vireid gallery search` cannot rank differently."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
    from vireid_runtime import RuntimeUserError, load_embedder

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
    try:
        query_embedder = load_embedder(art_dir, query_kind, backend, precision, log=choice.append)
    except (RuntimeUserError, ValueError) as err:
        raise VireidError(str(err)) from None
    try:
        gallery_embedder = load_embedder(art_dir, gallery_kind, backend, precision, log=choice.append)
    except (RuntimeUserError, ValueError) as err:
        query_embedder.close()
        raise VireidError(str(err)) from None
    with query_embedder, gallery_embedder:
        query_feature = query_embedder.embed(query_embedder.preprocess([load_image(str(query), query_kind)]))[0]
        cache = EmbeddingCache(
            cache_dir or default_cache_dir(),
            gallery_embedder.artifact.sha256,
            gallery_embedder.backend,
            gallery_embedder.precision,
        )
        keys = [content_hash(path) for path in files]
        found = cache.lookup(keys)
        missing = [i for i, feature in enumerate(found) if feature is None]
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            images = [load_image(str(files[i]), gallery_kind) for i in chunk]
            features = gallery_embedder.embed(gallery_embedder.preprocess(images))
            cache.add([keys[i] for i in chunk], features)
            for i, feature in zip(chunk, features, strict=True):
                found[i] = feature
        if missing:
            cache.save()
    matrix = np.stack([f for f in found if f is not None])
    scores, rows = exact_top_k(matrix, query_feature[None], min(top_k, len(files)))
    ranked = [
        Match(int(i), float(score), Crop(keys[i], str(files[i]), gallery_kind, identity=_identity(files[i])))
        for score, i in zip(scores[0], rows[0], strict=True)
        if i >= 0
    ]
    return SearchResult(
        query, identity_of(query), ranked, len(files), cache.hits, cache.misses, (query_kind, gallery_kind), choice
    )


def _identity(path: Path) -> int:
    found = identity_of(path)
    return -1 if found is None else found
