"""Everything one demo produced, typed: what `render_report` turns into report.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vireid.config.schema import RunConfig
    from vireid.data.synthetic.writer import SyntheticSummary
    from vireid.demo.gallery import GalleryShowcase
    from vireid.demo.steps import RankedList
    from vireid.engine.result import TrainResult
    from vireid.eval.report import EvaluationReport
    from vireid_runtime.bench_result import BenchResult
    from vireid_runtime.manifest import Manifest


@dataclass(frozen=True)
class DemoRecord:
    data: SyntheticSummary
    config: RunConfig
    trained: TrainResult
    evaluation: EvaluationReport
    manifest: Manifest
    bench: BenchResult
    ranked: RankedList
    gallery: GalleryShowcase
    triton_models: tuple[str, ...]
    seconds: dict[str, float]
    """Wall time per step, in the order they ran."""
