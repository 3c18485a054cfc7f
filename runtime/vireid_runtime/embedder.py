"""The one interface every backend implements: `embed(float32 N x 3 x H x W) -> float32 N x D`.

The base class owns what must not differ between backends: input validation (a wrong rank, channel count,
size or dtype is a ValueError naming the expected shape), splitting batches larger than the backend accepts,
preprocessing from images, and compute-only timing. Backends implement `_infer` on one chunk, and GPU backends
override `time_compute` to time on the device with CUDA events.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vireid_runtime.manifest import Artifact, InputSpec, OutputSpec
from vireid_runtime.preprocess import ImageLike, check_preprocessing, preprocess


class Embedder(ABC):
    """A loaded branch (one modality, one precision) on one backend."""

    backend: str = ""
    choice: str = ""
    """With `backend="auto"`: what was chosen and the evidence (empty when the backend was named)."""
    _closed: bool = False

    def __init__(
        self,
        artifact: Artifact,
        path: Path,
        input_spec: InputSpec,
        output_spec: OutputSpec,
        max_batch: int | None,
        precision: str | None = None,
    ) -> None:
        check_preprocessing(input_spec.preprocessing)
        self.artifact = artifact
        self._precision = precision or artifact.precision
        self.path = path
        self.input_spec = input_spec
        self.output_spec = output_spec
        self.max_batch = max_batch

    @property
    def modality(self) -> str:
        return self.artifact.modality

    @property
    def precision(self) -> str:
        """What the backend computes in: the artifact's precision, or a mode of the backend on it (bf16 runs the
        fp32 graph)."""
        return self._precision

    @property
    def expected_shape(self) -> str:
        spec = self.input_spec
        return f"float32 N x {spec.channels} x {spec.height} x {spec.width}"

    def preprocess(self, images: Sequence[ImageLike]) -> np.ndarray:
        """PIL images or uint8 arrays -> the model input, exactly as the manifest specifies."""
        return preprocess(images, self.input_spec.height, self.input_spec.width, infrared=self.modality == "infrared")

    def validate(self, batch: object) -> np.ndarray:
        """The batch as the backend takes it; every path to inference (embed, time_compute) comes through here,
        so a closed embedder is refused here in one sentence rather than deep inside a backend."""
        if self._closed:
            raise RuntimeError(f"this {self.backend} embedder of {self.artifact.file or self.path} is closed")
        spec = self.input_spec
        if not isinstance(batch, np.ndarray):
            raise ValueError(f"expected a numpy array ({self.expected_shape}), got {type(batch).__name__}")
        if batch.dtype != np.float32:
            raise ValueError(f"expected {self.expected_shape}, got dtype {batch.dtype}")
        if batch.ndim != 4:
            raise ValueError(f"expected {self.expected_shape}, got rank {batch.ndim} shape {batch.shape}")
        if batch.shape[1] != spec.channels:
            raise ValueError(f"expected {self.expected_shape}, got {batch.shape[1]} channels")
        if batch.shape[2:] != (spec.height, spec.width):
            raise ValueError(f"expected {self.expected_shape}, got size {batch.shape[2]} x {batch.shape[3]}")
        if batch.shape[0] < 1:
            raise ValueError(f"expected {self.expected_shape} with N >= 1, got an empty batch")
        return np.ascontiguousarray(batch)

    def chunks(self, batch: np.ndarray) -> list[np.ndarray]:
        """Split a batch into pieces the backend accepts (a TensorRT profile has a maximum batch)."""
        step = self.max_batch or batch.shape[0]
        return [batch[start : start + step] for start in range(0, batch.shape[0], step)]

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """float32 N x 3 x H x W in [0, 1] -> float32 N x D, L2-normalised."""
        batch = self.validate(batch)
        outputs = [self._infer(chunk) for chunk in self.chunks(batch)]
        return np.concatenate(outputs, axis=0).astype(np.float32, copy=False)

    def time_compute(self, batch: np.ndarray, warmup: int, runs: int) -> list[float]:
        """Seconds per run of the compute alone (input already prepared; no preprocessing).

        On the CPU this is a wall-clock timer around inference. GPU backends override it to keep host<->device
        copies out and to synchronise with CUDA events.
        """
        batch = self.validate(batch)
        for _ in range(warmup):
            self._infer(batch)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            self._infer(batch)
            times.append(time.perf_counter() - start)
        return times

    @abstractmethod
    def _infer(self, batch: np.ndarray) -> np.ndarray:
        """Run one chunk (already validated, at most max_batch) and return N x D."""

    def close(self) -> None:
        """Release device resources (sessions, engines, buffers); safe to call twice."""
        self._closed = True
        self._release()

    def _release(self) -> None:  # noqa: B027 - optional hook; backends holding nothing release nothing
        """What `close` frees, per backend."""

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
