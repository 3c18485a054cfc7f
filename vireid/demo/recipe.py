"""What the demo makes, as data: the dataset size, the training overrides, the export and the bench options.

A frozen `DemoRecipe` holds every choice the steps follow, so a test shrinks the demo by handing a smaller recipe
to `run_demo` (or to one step) rather than through options hidden in the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vireid.bench.runner import BenchOptions
from vireid_export.branch import SearchOptions
from vireid_export.pipeline import ExportOptions
from vireid_runtime.backends import BACKENDS

TRIALS = 10
"""Gallery trials of the SYSU-MM01 evaluation (the protocol's own count)."""


def cpu_backends() -> tuple[str, ...]:
    """The registry's CPU backends that can run here (ONNX Runtime always; OpenVINO where installed); a remote one
    (triton) needs a server the demo does not start."""
    return tuple(name for name, spec in BACKENDS.items() if not spec.gpu and not spec.remote and spec.probe() is None)


def demo_export() -> ExportOptions:
    """fp32 and the CPU int8 graph: the demo deploys on this CPU, and the TensorRT-shaped int8 graph (with its
    fp16 base) would cost a second precision search per branch for a graph only a GPU runs well. The int8
    search draws its ranges from 512 screened training images; the gate judges every evaluation image."""
    return ExportOptions(
        precisions=("fp32", "int8"),
        int8_targets=("cpu",),
        batches=(1, 8, 32),
        search=SearchOptions(budget_s=120),
    )


def demo_bench() -> BenchOptions:
    """torch against every CPU backend here, at every precision they run; latency on the visible branch."""
    return BenchOptions(
        backends=("torch", *cpu_backends()),
        batches=(1, 8),
        runs=10,
        warmup=2,
        latency_modalities=("visible",),
    )


@dataclass(frozen=True)
class DemoRecipe:
    ids: int = 100
    """Identities in the generated dataset."""
    train_overrides: tuple[str, ...] = ()
    """Extra `--set` overrides on the demo preset."""
    export: ExportOptions = field(default_factory=demo_export)
    bench: BenchOptions = field(default_factory=demo_bench)
    trials: int = TRIALS


@dataclass(frozen=True)
class DemoOptions:
    out: Path
    seed: int = 0
    """Seed of the generated data and of training."""
    force: bool = False
    recipe: DemoRecipe = field(default_factory=DemoRecipe)
