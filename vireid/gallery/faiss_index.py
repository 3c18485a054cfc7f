"""A new FAISS IVF index for a gallery partition: the factory string `index_choice` names, trained on a sample.

Training is most of an IVF build, so its settings are measured, at 1e6 clustered 768-d vectors on 2 cores
(`benchmarks/gallery_scale.py`; `benchmarks/results/gallery/ivf-pq-build-1e6.md`), against the build before issue 31:
- no polysemous training (`PQ{m}x8np`, `index_choice.IndexSpec.factory`): FAISS's default `PQ{m}x8` spends about
  65 s per index on it whatever its size, for a Hamming filter the exact re-scoring never uses;
- the coarse quantizer's k-means on `TRAIN_PER_LIST` = 39 vectors per list, FAISS's own floor (it warns below),
  instead of 64: 34 s instead of 56 s at nlist 4096, the same recall@10;
- the product quantizer's k-means for 10 iterations over 64 vectors per centroid, instead of FAISS's 25 over 256:
  its codes only choose the candidates that are then re-scored exactly from the raw vectors.
Together, side by side in one run: 234 s -> 106 s for `ivf-pq` at nlist 4096 (adding the million vectors is about 46
s of it), recall@10 0.992 and p50 7.4 ms at nprobe 512, where the old build gave 0.988 and 8.6 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from vireid.gallery.index_choice import IndexSpec

TRAIN_PER_LIST = 39
"""Training vectors per inverted list (FAISS warns below 39)."""
PQ_TRAIN_ITERATIONS = 10
PQ_TRAIN_PER_CENTROID = 64


def training_rows(rows: np.ndarray, nlist: int, seed: int = 0) -> np.ndarray:
    """The sorted rows an index of `nlist` lists trains on: up to `TRAIN_PER_LIST` per list, drawn at random."""
    return np.sort(np.random.default_rng(seed).permutation(rows)[: nlist * TRAIN_PER_LIST])


def trained(spec: IndexSpec, dim: int, sample: Callable[[np.ndarray], np.ndarray], rows: np.ndarray) -> Any:
    """A new, empty IVF index of `spec`, trained on `sample(training_rows(rows, nlist))` (the vectors of the
    drawn rows)."""
    import faiss

    index = faiss.index_factory(dim, spec.factory(dim), faiss.METRIC_INNER_PRODUCT)
    inner = faiss.downcast_index(faiss.extract_index_ivf(index))
    if hasattr(inner, "pq"):
        inner.pq.cp.niter = PQ_TRAIN_ITERATIONS
        inner.pq.cp.max_points_per_centroid = PQ_TRAIN_PER_CENTROID
    index.train(np.ascontiguousarray(sample(training_rows(rows, spec.nlist)), dtype=np.float32))
    return index
