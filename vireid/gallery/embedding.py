"""Embedding crops and queries through the deployed runtime, one branch per modality, each loaded once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from vireid.data.images import load_image
from vireid.data.sample import Modality
from vireid.errors import VireidError


@contextmanager
def branch(
    art_dir: str | Path, modality: Modality, backend: str, precision: str | None, log: Callable[[str], None]
) -> Iterator[Callable[[list[Path]], np.ndarray]]:
    """`embed(paths) -> N x D` through `modality`'s branch of ART_DIR (`--backend auto` prints its choice)."""
    from vireid_runtime import RuntimeUserError, load_embedder

    try:
        embedder: Any = load_embedder(art_dir, modality, backend, precision, log=log)
    except (RuntimeUserError, ValueError) as err:
        raise VireidError(str(err)) from None

    def embed(paths: list[Path]) -> np.ndarray:
        images = [load_image(str(p), modality) for p in paths]
        return np.asarray(embedder.embed(embedder.preprocess(images)), dtype=np.float32)

    with embedder:
        yield embed
