"""Which machine this is: the identity that speed figures belong to.

A bench's latency figures hold for the machine that measured them and no other: the CPU model and its vector
extensions (AVX-512, VNNI, AMX decide int8 and bf16 speed), the core count, and the GPU. `backend="auto"`
trusts a bench.json only when its machine equals this one, so the identity lives in the torch-free runtime.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass

SPEED_FLAGS = ("avx", "amx", "fma", "f16c")
"""CPU flag prefixes that decide which kernels run (plus every *vnni* flag)."""


@dataclass(frozen=True)
class Machine:
    cpu: str
    cpu_flags: tuple[str, ...]
    cpu_count: int
    gpu: str = ""
    """The first GPU's name from nvidia-smi, or "" without one."""

    def describe(self) -> str:
        vector = [f for f in self.cpu_flags if f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")]
        text = f"{self.cpu}, {self.cpu_count} cores ({', '.join(vector) or 'no AVX2'})"
        return text + (f", {self.gpu}" if self.gpu else ", no GPU")


def _cpuinfo_field(name: str) -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or "unknown"


def cpu_flags() -> tuple[str, ...]:
    flags = set(_cpuinfo_field("flags").split())
    return tuple(sorted(f for f in flags if f.startswith(SPEED_FLAGS) or "vnni" in f))


def nvidia_smi() -> dict[str, str]:
    """name, driver and memory of the first GPU, or {} when nvidia-smi is absent or finds none."""
    try:
        out = (
            subprocess.run(
                ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            .stdout.strip()
            .splitlines()
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if not out:
        return {}
    name, driver, memory = (part.strip() for part in out[0].split(","))
    return {"gpu": name, "driver": driver, "gpu_memory": memory}


def this_machine() -> Machine:
    return Machine(cpu_model(), cpu_flags(), os.cpu_count() or 1, nvidia_smi().get("gpu", ""))
