"""Which arithmetic a training step runs in: fp32, or autocast to bf16 / fp16 (docs/architecture.md, "Training").

`train.amp_dtype = "auto"` picks what is fast and safe on the device the run trains on:
- a GPU that supports bf16 (Ampere and later) autocasts to bf16: fp32's range, so no gradient scaler;
- an older GPU autocasts to fp16 with a `GradScaler` (fp16 gradients underflow without one);
- a CPU autocasts to bf16 only where it computes bf16 natively: AMX tiles (Intel Sapphire Rapids and later) or
  AVX-512-BF16 (Intel Cooper Lake, AMD Zen 4 and later), where oneDNN's bf16 kernels beat fp32 (on 2 AMD Zen 5
  cores the demo preset's training step is 1.5x faster, its whole training 59 -> 49 s, at the same accuracy within
  seed noise); elsewhere bf16 is emulated and slower, so the run stays fp32.

The run's config records the resolved choice (`resolved_train_config`), so a resumed or audited run says what it
ran in rather than "auto".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from vireid.config import TrainConfig
from vireid.errors import VireidError

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
"""Linux /proc/cpuinfo flags of CPUs with bf16 arithmetic in hardware (AMX tiles, AVX-512 bf16 dot products)."""


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True where the CPU reports one of `NATIVE_BF16_FLAGS`; False where it does not, or where unknown."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(
        line.startswith("flags") and any(flag in line.split() for flag in NATIVE_BF16_FLAGS)
        for line in text.splitlines()
    )


def resolve_amp_dtype(cfg: TrainConfig, device: torch.device) -> str:
    """ "bf16", "fp16" or "fp32": what a step on `device` computes in under `cfg` (see the module doc)."""
    if not cfg.amp:
        return "fp32"
    if device.type == "cuda":
        if cfg.amp_dtype == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if cfg.amp_dtype == "bf16" and not torch.cuda.is_bf16_supported():
            raise VireidError(
                f"train.amp_dtype = bf16 but {torch.cuda.get_device_name(device)} has no bf16; use fp16 or auto"
            )
        return cfg.amp_dtype
    if cfg.amp_dtype == "fp16":
        raise VireidError("train.amp_dtype = fp16 needs a CUDA GPU; on a CPU use bf16, or auto")
    if cfg.amp_dtype == "bf16":
        return "bf16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


@dataclass(frozen=True)
class StepPrecision:
    """The autocast context and gradient scaler of one training run."""

    device_type: str
    name: str
    """"bf16", "fp16" or "fp32"."""

    @property
    def autocast_enabled(self) -> bool:
        return self.name != "fp32"

    @property
    def needs_scaler(self) -> bool:
        """fp16 only: bf16 has fp32's exponent range, so its gradients do not underflow."""
        return self.name == "fp16"

    def autocast(self) -> torch.autocast:
        return torch.autocast(
            self.device_type, dtype=_DTYPES.get(self.name, torch.bfloat16), enabled=self.autocast_enabled
        )

    def scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(self.device_type, enabled=self.needs_scaler)


def step_precision(cfg: TrainConfig, device: torch.device) -> StepPrecision:
    return StepPrecision(device.type, resolve_amp_dtype(cfg, device))


def resolved_train_config(cfg: TrainConfig, precision: StepPrecision) -> TrainConfig:
    """`cfg` with "auto" replaced by what ran: amp off where nothing was autocast, else the dtype."""
    if not precision.autocast_enabled:
        return dataclasses.replace(cfg, amp=False)
    return dataclasses.replace(cfg, amp=True, amp_dtype=precision.name)  # type: ignore[arg-type]
