"""The micro-batcher merges concurrent requests into one engine call and gives each request its own rows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from vireid.serve.batching import MicroBatcher


class Engine:
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.gate = threading.Event()

    def embed(self, batch: np.ndarray) -> np.ndarray:
        self.gate.wait(5)
        self.calls.append(len(batch))
        return batch.reshape(len(batch), -1)[:, :4] * 2


def _images(value: float, n: int = 1) -> np.ndarray:
    return np.full((n, 3, 2, 2), value, dtype=np.float32)


def test_concurrent_requests_share_engine_calls_and_get_their_own_rows() -> None:
    engine = Engine()
    batches: list[int] = []
    batcher = MicroBatcher(engine.embed, max_batch=8, max_wait_ms=50, on_batch=lambda n, _s: batches.append(n))
    try:
        futures = [batcher.submit(_images(float(i), 1 + i % 2)) for i in range(12)]  # queued while the engine waits
        engine.gate.set()
        for i, future in enumerate(futures):
            rows = future.result(5)
            assert rows.shape == (1 + i % 2, 4) and np.all(rows == 2 * i)
    finally:
        batcher.close()
    assert sum(engine.calls) == 18 and len(engine.calls) < 12 and max(engine.calls) <= 8 + 1
    assert batches == engine.calls


def test_with_a_batch_of_one_every_request_is_its_own_call() -> None:
    engine = Engine()
    engine.gate.set()
    batcher = MicroBatcher(engine.embed, max_batch=1, max_wait_ms=0)
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda i: batcher.submit(_images(float(i))).result(5), range(10)))
    finally:
        batcher.close()
    assert engine.calls == [1] * 10
    assert [float(r[0, 0]) for r in results] == [2.0 * i for i in range(10)]


def test_an_engine_failure_reaches_every_request_of_its_batch() -> None:
    def broken(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("engine fell over")

    batcher = MicroBatcher(broken, max_batch=4, max_wait_ms=1)
    try:
        futures = [batcher.submit(_images(1.0)) for _ in range(3)]
        for future in futures:
            with pytest.raises(RuntimeError, match="engine fell over"):
                future.result(5)
    finally:
        batcher.close()
    with pytest.raises(RuntimeError, match="stopped"):
        batcher.submit(_images(1.0))
