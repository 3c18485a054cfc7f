"""The torch reference as a runtime `Embedder`, so the bench times and compares it exactly like the others.

On a GPU, compute-only time is measured with CUDA events around the forward pass on an already uploaded
batch; end-to-end time (measured by the bench around `embed`) includes the host-to-device and
device-to-host copies. The reference is strict float32 there: TF32 (on by default for cuDNN convolutions)
rounds products to a 10-bit mantissa, enough to move an fp32 engine off the 0.99999 cosine bar by itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vireid.models import Modality, TwoStreamReID
from vireid_runtime.embedder import Embedder
from vireid_runtime.manifest import Artifact, InputSpec, OutputSpec


def strict_float32() -> None:
    """No TF32 in torch: cuDNN convolutions (TF32 by default) and matmuls compute in full float32.

    Through torch's fp32_precision settings, the API torch 2.9+ wants; mixing them with the older
    `allow_tf32` flags is refused by torch.
    """
    torch.backends.cudnn.conv.fp32_precision = "ieee"  # type: ignore[attr-defined]
    torch.backends.cuda.matmul.fp32_precision = "ieee"


class TorchEmbedder(Embedder):
    backend = "torch"

    def __init__(self, model: TwoStreamReID, modality: Modality, run_dir: Path, device: str = "cpu") -> None:
        cfg = model.config
        artifact = Artifact(modality=modality, precision="fp32", format="torch", file="", sha256="", bytes=0)
        super().__init__(
            artifact, run_dir, InputSpec(height=cfg.height, width=cfg.width), OutputSpec(dim=cfg.embedding_dim), None
        )
        self.device = torch.device(device)
        if self.device.type == "cuda":
            strict_float32()
        self.branch = model.branch(modality).eval().to(self.device)

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.branch(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()

    def time_compute(self, batch: np.ndarray, warmup: int, runs: int) -> list[float]:
        if self.device.type != "cuda":
            return super().time_compute(batch, warmup, runs)
        batch = self.validate(batch)
        with torch.cuda.device(self.device), torch.inference_mode():  # events on this GPU's current stream
            x = torch.from_numpy(batch).to(self.device)
            for _ in range(warmup):
                self.branch(x)
            times = []
            for _ in range(runs):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                self.branch(x)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end) / 1000.0)
        return times
