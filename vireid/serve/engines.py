"""The two branches the service embeds queries and uploads with: loaded once at start, one micro-batcher each.

`load_embedder` (the runtime; `backend="auto"` by default) picks each branch's engine, and the service keeps it
for its lifetime: loading an engine costs seconds, a query milliseconds. Decoding and resizing an upload run in
the request's worker thread; only the engine call is shared through the batcher.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from vireid.data.sample import MODALITIES, Modality
from vireid.errors import VireidError
from vireid.serve.batching import MicroBatcher
from vireid.serve.settings import Batching

if TYPE_CHECKING:
    from vireid_runtime.embedder import Embedder


@dataclass
class Branch:
    embedder: Embedder
    batcher: MicroBatcher

    def preprocess(self, images: list[Image.Image]) -> np.ndarray:
        return np.asarray(self.embedder.preprocess(images), dtype=np.float32)

    @property
    def description(self) -> str:
        e = self.embedder
        return f"{e.backend} {e.precision}, batches of up to {self.batcher.max_batch}"


def load_branches(
    art_dir: Path,
    backend: str,
    precision: str | None,
    threads: int | None,
    batching: Batching,
    on_batch: Callable[[str, int, float], None],
    log: Callable[[str], None],
) -> dict[Modality, Branch]:
    from vireid_runtime import RuntimeUserError, load_embedder, read_manifest

    try:
        optimum = read_manifest(art_dir).batch.opt
    except (RuntimeUserError, ValueError) as err:
        raise VireidError(str(err)) from None
    branches: dict[Modality, Branch] = {}
    threads = threads or serving_threads()
    try:
        for modality in MODALITIES:
            embedder = load_embedder(art_dir, modality, backend, precision, threads=threads, log=log)
            size = batching.max_batch or optimum
            warm_up(embedder, size)
            batcher = MicroBatcher(
                embedder.embed,
                max_batch=size,
                max_wait_ms=batching.max_wait_ms,
                name=modality,
                on_batch=functools.partial(on_batch, modality),
            )
            branches[modality] = Branch(embedder, batcher)
    except (RuntimeUserError, ValueError) as err:
        close_branches(branches)
        raise VireidError(str(err)) from None
    return branches


def warm_up(embedder: Embedder, max_batch: int) -> None:
    """One call at every batch size the batcher can form, before the first request: an engine's first call at a
    shape allocates for it (OpenVINO grew the service's RSS by 15 % during a load test that reached larger batches
    than its warm-up had), and that belongs to start-up, not to a user's request."""
    spec = embedder.input_spec
    for size in range(1, max_batch + 1):
        embedder.embed(np.zeros((size, spec.channels, spec.height, spec.width), dtype=np.float32))


def serving_threads() -> int:
    """Engine threads when `--threads` is not given: every core but one, which the event loop, the decoding and
    the store need. Measured on 2 cores with the demo export (OpenVINO int8, 16 clients): one engine thread served
    176 requests/s, two 125, their spinning taking the Python side's core."""
    return max(1, (os.cpu_count() or 1) - 1)


def close_branches(branches: dict[Modality, Branch]) -> None:
    for branch in branches.values():
        branch.batcher.close()
        branch.embedder.close()
