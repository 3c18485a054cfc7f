"""What a training run returns to its caller (the CLI, the demo, tests): a typed record, not a dict of keys."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class BestEpoch:
    """The epoch the selection metric chose (best.safetensors), with its validation figures (fractions)."""

    epoch: int
    R1: float  # the protocol's own names, as metrics.jsonl and the state file write them
    mAP: float
    mINP: float


@dataclass(frozen=True)
class TrainResult:
    epochs: int
    seconds: float
    """Wall time of this invocation's epochs (a resumed run counts only the epochs it ran)."""
    images_per_s: float | None
    """Training throughput of the last epoch; None when no epoch ran."""
    best: BestEpoch | None
    """None when the run selects nothing (`train.select_on = "none"`) or no validation ran."""
    selection: str
    """What chose the best epoch: "val" (held-out training ids), "test" or "none"."""

    def record(self) -> dict[str, Any]:
        """The "done" line of metrics.jsonl (`best` is {} when nothing was selected, as before this record)."""
        return {**asdict(self), "best": asdict(self.best) if self.best else {}}

    def describe(self) -> str:
        """One line for the user: epochs, time and the best epoch's figures."""
        best = self.best
        best_text = f", best val R1 {100 * best.R1:.1f} mAP {100 * best.mAP:.1f} at epoch {best.epoch}" if best else ""
        return f"trained {self.epochs} epochs in {self.seconds:.0f} s{best_text}"
