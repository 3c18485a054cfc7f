"""The evaluation protocols of docs/architecture.md, "Evaluation", over any pair of embedders (one per modality).

SYSU-MM01: infrared queries (cameras 3 and 6) against visible galleries; the query is embedded once, and the
galleries of all trials are embedded once as a union of their images, then scored per trial. RegDB: one
trained model per trial (the trial's split), in one direction (visible-to-thermal or thermal-to-visible);
query and gallery always go through their own modality's branch. Distances are -(q . g^T) on L2-normalised
embeddings (cosine). Results are reported per trial and as mean +- std.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vireid.data.regdb import RegDB
from vireid.data.sample import Sample
from vireid.data.sysu import SYSUMM01
from vireid.eval.extract import EmbedFn, extract_embeddings
from vireid.eval.metrics import Metrics, evaluate
from vireid.eval.report import EvalSettings, EvaluationReport


@dataclass(frozen=True)
class ExtractOptions:
    height: int
    width: int
    batch_size: int = 64
    flip: bool = False
    workers: int = 0
    show_progress: bool | None = None


def cosine_distances(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return -(query @ gallery.T)


def score(
    query_features: np.ndarray,
    gallery_features: np.ndarray,
    query: Sequence[Sample],
    gallery: Sequence[Sample],
    protocol: str,
) -> Metrics:
    """Metrics of one query set against one gallery under `protocol` ("sysu" or "regdb")."""
    return evaluate(
        cosine_distances(query_features, gallery_features),
        np.array([s.pid for s in query]),
        np.array([s.pid for s in gallery]),
        np.array([s.camid for s in query]),
        np.array([s.camid for s in gallery]),
        protocol,
    )


def embedder_for(sample_modality: str, visible: EmbedFn, infrared: EmbedFn) -> EmbedFn:
    return visible if sample_modality == "visible" else infrared


def embed_samples(
    samples: Sequence[Sample], visible: EmbedFn, infrared: EmbedFn, options: ExtractOptions, description: str
) -> np.ndarray:
    """Embed samples of a single modality through that modality's branch."""
    modalities = {s.modality for s in samples}
    if len(modalities) != 1:
        raise ValueError(f"{description}: expected one modality, got {sorted(modalities)}")
    return extract_embeddings(
        embedder_for(modalities.pop(), visible, infrared),
        samples,
        options.height,
        options.width,
        batch_size=options.batch_size,
        flip=options.flip,
        workers=options.workers,
        description=description,
        show_progress=options.show_progress,
    )


def evaluate_sysu(
    visible: EmbedFn,
    infrared: EmbedFn,
    data: SYSUMM01,
    options: ExtractOptions,
    *,
    mode: str = "all",
    shots: int = 1,
    trials: int = 10,
) -> EvaluationReport:
    """SYSU-MM01 all-search or indoor-search, single- or multi-shot, over `trials` gallery draws."""
    query = data.query(mode)
    galleries = [data.gallery(mode, trial, shots) for trial in range(trials)]
    union = sorted({s for gallery in galleries for s in gallery})
    query_features = embed_samples(query, visible, infrared, options, "query (infrared)")
    union_features = embed_samples(union, visible, infrared, options, "galleries (visible)")
    row_of = {s: i for i, s in enumerate(union)}
    report = EvaluationReport("sysu", EvalSettings(trials, options.flip, mode=mode, shots=shots, queries=len(query)))
    for trial, gallery in enumerate(galleries):
        gallery_features = union_features[[row_of[s] for s in gallery]]
        report = report.with_trial(trial, score(query_features, gallery_features, query, gallery, "sysu"))
    return report


def evaluate_regdb(
    runs: Sequence[tuple[int, EmbedFn, EmbedFn]], root: str, options: ExtractOptions, *, direction: str
) -> EvaluationReport:
    """RegDB: each (trial, visible, infrared) model evaluated on its own trial's test split."""
    report = EvaluationReport(
        "regdb",
        EvalSettings(len(runs), options.flip, direction=direction, trial_ids=tuple(t for t, _, _ in runs)),
    )
    for trial, visible, infrared in runs:
        data = RegDB(root, trial)
        query, gallery = data.query(direction), data.gallery(direction)
        query_features = embed_samples(query, visible, infrared, options, f"trial {trial} query")
        gallery_features = embed_samples(gallery, visible, infrared, options, f"trial {trial} gallery")
        report = report.with_trial(trial, score(query_features, gallery_features, query, gallery, "regdb"))
    return report
