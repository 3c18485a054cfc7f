"""The serving view of a remote backend: throughput and latency against client concurrency, with the server's own
times beside the client's (docs/architecture.md, "Runtime and bench").

A backend that runs on a server (`triton`) gets no in-process latency row: timing it here would measure the
network round trip and call it compute. Instead, per branch, batch size and client count, `concurrency` threads
(each with its own connection: the embedder keeps one per thread) send `runs` requests of `batch` prepared images
back to back, after `warmup` untimed ones each. Measured:
- per request, as the clients saw it: p50 / p90 / p99 / mean;
- the throughput of all clients together over the wall clock of the timed requests;
- from Triton's statistics extension (`/v2/models/{model}/stats`), read just before and just after the timed
  requests: the server's queue and compute time per request, and how many model executions served them (fewer
  than the requests when dynamic batching merged them). The model must serve nobody else meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from vireid.bench.latency import batch_of, summarise
from vireid_runtime.backends.triton import ServerStatistics, TritonEmbedder
from vireid_runtime.bench_result import ServerTime, ServingRow

STATS_SETTLE_S = 0.05
"""Triton counts a request in its statistics just after it answers it: a short wait before each reading keeps the
warm-up's last requests out of the measurement and the timed ones' last requests in."""


def _timed_requests(
    embedder: TritonEmbedder, prepared: np.ndarray, concurrency: int, warmup: int, runs: int
) -> tuple[list[float], float, ServerStatistics]:
    """Seconds per request of every client, the wall clock of the timed requests, and the server's counts over
    them. Every client warms up (opening its connection) before any is timed."""
    warmed = threading.Barrier(concurrency + 1)
    go = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures: list[Exception] = []

    def client(slot: int) -> None:
        try:
            for _ in range(max(1, warmup)):
                embedder.embed(prepared)
            warmed.wait()
            go.wait()
            for _ in range(runs):
                start = time.perf_counter()
                embedder.embed(prepared)
                latencies[slot].append(time.perf_counter() - start)
        except threading.BrokenBarrierError:  # another client failed while warming up
            return
        except Exception as err:  # a dead server: reported once, below, by the main thread
            failures.append(err)
            warmed.abort()

    threads = [threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    before = None
    start = 0.0
    try:
        warmed.wait()
        time.sleep(STATS_SETTLE_S)
        before, start = embedder.statistics(), time.perf_counter()
    except threading.BrokenBarrierError:
        pass
    finally:
        go.set()
        for thread in threads:
            thread.join()
    end = time.perf_counter()
    if failures or before is None:
        raise failures[0]
    time.sleep(STATS_SETTLE_S)
    after = embedder.statistics()
    return [t for client_times in latencies for t in client_times], end - start, after.since(before)


def _server_time(counts: ServerStatistics) -> ServerTime:
    requests = max(counts.requests, 1)
    return ServerTime(
        requests=counts.requests,
        executions=counts.executions,
        queue_ms=counts.queue_ns / requests / 1e6,
        compute_ms=counts.compute_ns / requests / 1e6,
    )


def serving_row(embedder: TritonEmbedder, prepared: np.ndarray, concurrency: int, warmup: int, runs: int) -> ServingRow:
    """One measurement: `concurrency` clients each sending `prepared` (one request of its images) `runs` times."""
    batch = len(prepared)
    seconds, wall, counts = _timed_requests(embedder, prepared, concurrency, warmup, runs)
    return ServingRow(
        backend=embedder.backend,
        precision=embedder.precision,
        modality=embedder.modality,
        model=embedder.model,
        batch=batch,
        concurrency=concurrency,
        client=summarise(seconds, batch),
        images_per_s=len(seconds) * batch / wall,
        server=_server_time(counts),
    )


def serving_rows(
    embedder: TritonEmbedder,
    images: Sequence[Image.Image],
    batches: Sequence[int],
    concurrency: Sequence[int],
    warmup: int,
    runs: int,
    log: Callable[[str], None],
) -> list[ServingRow]:
    """Every batch size x client count, for one served branch."""
    rows = []
    for batch in batches:
        prepared = embedder.preprocess(batch_of(images, batch))
        for clients in concurrency:
            log(f"serving {embedder.backend} {embedder.precision} {embedder.modality} batch {batch}, {clients} clients")
            rows.append(serving_row(embedder, prepared, clients, warmup, runs))
    return rows
