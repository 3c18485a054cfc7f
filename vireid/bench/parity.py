"""Accuracy parity: each backend embeds the dataset's evaluation split; compare with the reference.

The split is `vireid.eval.splits.evaluation_split`, the same one the export's gate draws from: SYSU-MM01
all-search single-shot over its 10 gallery trials (infrared queries, visible gallery; figures are the mean
over the trials) or RegDB's trial in both directions. Every
backend's images go through the same loader and transform (`vireid.eval.extract`), so differences come from the
backend alone. Figures per backend x precision: the cosine figures of `vireid_runtime.parity` (the export's
maths, against the bar the export recorded for that artifact), and Rank-1 / mAP / mINP under the dataset's
protocol with their deltas against the reference, which must stay within `RETRIEVAL_DELTA_BAR`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vireid.data.sample import Sample
from vireid.eval.extract import extract_embeddings
from vireid.eval.protocols import score
from vireid.eval.splits import EvaluationSplit
from vireid_runtime.bench_result import ParityRow, Retrieval, RetrievalDelta
from vireid_runtime.parity import Bar, parity_figures

EmbedFn = Callable[[np.ndarray], np.ndarray]
RETRIEVAL_DELTA_BAR = 0.005
"""Rank-1 and mAP may move by at most 0.5 points (as fractions) against the reference."""


@dataclass
class Embeddings:
    visible: np.ndarray
    infrared: np.ndarray

    def of(self, samples: list[Sample], split: EvaluationSplit) -> np.ndarray:
        modality = samples[0].modality
        pool, features = (split.visible, self.visible) if modality == "visible" else (split.infrared, self.infrared)
        row = {s: i for i, s in enumerate(pool)}
        return features[[row[s] for s in samples]]


def embed_split(
    visible: EmbedFn, infrared: EmbedFn, split: EvaluationSplit, height: int, width: int, label: str
) -> Embeddings:
    def run(embed: EmbedFn, samples: list[Sample], modality: str) -> np.ndarray:
        return extract_embeddings(embed, samples, height, width, batch_size=32, description=f"{label} {modality}")

    return Embeddings(run(visible, split.visible, "visible"), run(infrared, split.infrared, "infrared"))


def retrieval(embeddings: Embeddings, split: EvaluationSplit) -> dict[str, Retrieval]:
    """R1 / mAP / mINP per task family: a task alone, or the mean over the trials of one protocol."""
    per_family: dict[str, list[dict[str, float]]] = {}
    for task in split.tasks:
        metrics = score(
            embeddings.of(task.query, split),
            embeddings.of(task.gallery, split),
            task.query,
            task.gallery,
            task.protocol,
        ).summary()
        per_family.setdefault(task.family, []).append({key: float(metrics[key]) for key in ("R1", "mAP", "mINP")})
    return {
        family: Retrieval(**{key: float(np.mean([trial[key] for trial in trials])) for key in ("R1", "mAP", "mINP")})
        for family, trials in per_family.items()
    }


def compare(
    reference: Embeddings,
    candidate: Embeddings,
    split: EvaluationSplit,
    bar: Bar,
    *,
    backend: str,
    precision: str,
    files: dict[str, str],
) -> ParityRow:
    """Cosine figures over every evaluation image (judged against `bar`), retrieval metrics with deltas."""
    ref = np.concatenate([reference.visible, reference.infrared])
    cand = np.concatenate([candidate.visible, candidate.infrared])
    figures = parity_figures(ref, cand, bar)
    ref_metrics, cand_metrics = retrieval(reference, split), retrieval(candidate, split)
    tasks = {}
    for name, values in cand_metrics.items():
        base = ref_metrics[name]
        tasks[name] = RetrievalDelta(
            R1=values.R1,
            mAP=values.mAP,
            mINP=values.mINP,
            dR1=values.R1 - base.R1,
            dmAP=values.mAP - base.mAP,
            dmINP=values.mINP - base.mINP,
        )
    retrieval_ok = all(abs(t.dR1) <= RETRIEVAL_DELTA_BAR and abs(t.dmAP) <= RETRIEVAL_DELTA_BAR for t in tasks.values())
    return ParityRow(backend, precision, files, figures, retrieval_ok, tasks)
