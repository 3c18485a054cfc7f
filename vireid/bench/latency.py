"""Latency: warm-up, then N timed runs per batch size; percentiles and throughput.

Two numbers per (backend, precision, batch):
- compute: the backend's own timing of inference on an already prepared batch (`Embedder.time_compute`):
  a wall clock on the CPU, CUDA events on the device for GPU backends (host<->device copies excluded);
- end-to-end: from decoded images to embeddings on the host: preprocessing (resize, scale, layout), the
  copies, inference and the copy back, timed with a wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from PIL import Image

from vireid_runtime.bench_result import Timing
from vireid_runtime.embedder import Embedder


def summarise(seconds: Sequence[float], batch: int) -> Timing:
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    mean = float(ms.mean())
    return Timing(
        p50_ms=float(np.percentile(ms, 50)),
        p90_ms=float(np.percentile(ms, 90)),
        p99_ms=float(np.percentile(ms, 99)),
        mean_ms=mean,
        images_per_s=batch / (mean / 1000.0),
        runs=len(ms),
    )


def batch_of(images: Sequence[Image.Image], size: int) -> list[Image.Image]:
    """`size` images, cycling through the pool when it is smaller."""
    return [images[i % len(images)] for i in range(size)]


def measure(
    embedder: Embedder, images: Sequence[Image.Image], batch: int, warmup: int, runs: int
) -> tuple[Timing, Timing]:
    """(compute, end-to-end) timings of `runs` runs at `batch` after `warmup` untimed ones."""
    pictures = batch_of(images, batch)
    prepared = embedder.preprocess(pictures)
    compute = embedder.time_compute(prepared, warmup, runs)
    for _ in range(warmup):
        embedder.embed(embedder.preprocess(pictures))
    end_to_end = []
    for _ in range(runs):
        start = time.perf_counter()
        embedder.embed(embedder.preprocess(pictures))
        end_to_end.append(time.perf_counter() - start)
    return summarise(compute, batch), summarise(end_to_end, batch)
