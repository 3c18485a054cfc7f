"""`eval.json`: the evaluation report as a frozen, versioned record (docs/architecture.md, "Evaluation").

`vireid eval`, training's test-split selection and the demo produce it; the demo's report and the benchmarks
read it back typed (`read_evaluation`), never as nested dicts. Format `vireid-eval/1`. (The runtime's generic
record reader is not used here: the core never imports the runtime; the record is small enough to read
field by field, with one-line errors.)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from vireid.errors import VireidError
from vireid.eval.metrics import Metrics

EVAL_FORMAT = "vireid-eval/1"
METRIC_KEYS = ("R1", "R5", "R10", "R20", "mAP", "mINP")


class MeanStd(NamedTuple):
    mean: float
    std: float


@dataclass(frozen=True)
class TrialMetrics:
    """One gallery trial (SYSU-MM01) or one trained model (RegDB), as fractions."""

    trial: int
    R1: float
    R5: float
    R10: float
    R20: float
    mAP: float
    mINP: float
    num_valid_queries: int

    @classmethod
    def of(cls, trial: int, metrics: Metrics) -> TrialMetrics:
        summary = metrics.summary()
        ranks = {k: float(summary.get(k, metrics.cmc[-1])) for k in ("R1", "R5", "R10", "R20")}
        return cls(
            trial,
            **ranks,
            mAP=float(metrics.mAP),
            mINP=float(metrics.mINP),
            num_valid_queries=int(metrics.num_valid_queries),
        )


@dataclass(frozen=True)
class EvalSettings:
    """How the evaluation ran. SYSU-MM01 sets mode, shots and queries; RegDB sets direction and trial_ids."""

    trials: int
    flip: bool = False
    mode: str | None = None
    shots: int | None = None
    queries: int | None = None
    direction: str | None = None
    trial_ids: tuple[int, ...] = ()
    weights: str | None = None
    runs: tuple[str, ...] = ()
    data: str | None = None


@dataclass(frozen=True)
class EvaluationReport:
    protocol: str
    settings: EvalSettings
    trials: tuple[TrialMetrics, ...] = ()
    format: str = EVAL_FORMAT

    def with_trial(self, trial: int, metrics: Metrics) -> EvaluationReport:
        return dataclasses.replace(self, trials=(*self.trials, TrialMetrics.of(trial, metrics)))

    def mean_std(self) -> dict[str, MeanStd]:
        values = {key: np.array([getattr(t, key) for t in self.trials], dtype=np.float64) for key in METRIC_KEYS}
        return {key: MeanStd(float(v.mean()), float(v.std())) for key, v in values.items() if len(v)}

    def to_json(self) -> str:
        summary = {key: value._asdict() for key, value in self.mean_std().items()}
        values = {"format": self.format, **dataclasses.asdict(self), "summary": summary}
        return json.dumps(values, indent=2) + "\n"

    def table(self) -> str:
        """One line per metric, in percent, mean +- std over trials."""
        settings = {k: v for k, v in dataclasses.asdict(self.settings).items() if v not in (None, (), [])}
        lines = [f"{self.protocol} {' '.join(f'{k}={v}' for k, v in settings.items())}"]
        for key, (mean, std) in self.mean_std().items():
            lines.append(f"  {key:>5}  {100 * mean:6.2f} ± {100 * std:5.2f}")
        return "\n".join(lines)


def read_evaluation(path: Path) -> EvaluationReport:
    """eval.json back as a record; one line naming the file and what is wrong otherwise."""
    try:
        values: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise VireidError(f"{path} is unreadable ({err}); run `vireid eval` again") from None
    found = values.get("format") if isinstance(values, dict) else None
    if found != EVAL_FORMAT:
        raise VireidError(f"{path} is format {found!r}, not {EVAL_FORMAT}; run `vireid eval` again")
    try:
        settings = values["settings"]
        return EvaluationReport(
            str(values["protocol"]),
            EvalSettings(
                **{
                    **settings,
                    "trial_ids": tuple(settings.get("trial_ids", ())),
                    "runs": tuple(settings.get("runs", ())),
                }
            ),
            tuple(TrialMetrics(**t) for t in values["trials"]),
        )
    except (KeyError, TypeError) as err:
        raise VireidError(f"{path} is malformed ({err}); run `vireid eval` again") from None
