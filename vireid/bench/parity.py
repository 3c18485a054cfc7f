"""Accuracy parity: each backend embeds the dataset's evaluation split; compare with the reference.

The split is what published numbers are measured on: SYSU-MM01 all-search single-shot trial 0 (infrared
queries, visible gallery) or RegDB trial 1 in both directions. Every backend's images go through the same
loader and transform (`vireid.eval.extract`), so differences come from the backend alone. Figures per
backend x precision: per-sample cosine to the reference (min, mean), max |delta|, and Rank-1 / mAP / mINP
under the dataset's protocol with their deltas against the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vireid.data.layout import detect_layout
from vireid.data.regdb import RegDB
from vireid.data.sample import Sample
from vireid.data.sysu import SYSUMM01
from vireid.eval.extract import extract_embeddings
from vireid.eval.protocols import score
from vireid_export.parity import cosine_rows

EmbedFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EvalSplit:
    name: str
    protocol: str
    query: list[Sample]
    gallery: list[Sample]


@dataclass(frozen=True)
class EvalImages:
    """The evaluation splits and the images each modality must embed (each image once)."""

    splits: list[EvalSplit]
    visible: list[Sample]
    infrared: list[Sample]
    description: str


def evaluation_images(root: str) -> EvalImages:
    if detect_layout(root) == "sysu":
        sysu = SYSUMM01(root)
        query, gallery = sysu.query("all"), sysu.gallery("all", 0, 1)
        split = EvalSplit("SYSU-MM01 all-search single-shot trial 0", "sysu", query, gallery)
        return EvalImages([split], gallery, query, split.name)
    regdb = RegDB(root, 1)
    visible, thermal = regdb.test_visible(), regdb.test_thermal()
    splits = [
        EvalSplit("RegDB trial 1 visible-to-thermal", "regdb", visible, thermal),
        EvalSplit("RegDB trial 1 thermal-to-visible", "regdb", thermal, visible),
    ]
    return EvalImages(splits, visible, thermal, "RegDB trial 1, both directions")


@dataclass
class Embeddings:
    visible: np.ndarray
    infrared: np.ndarray

    def of(self, samples: list[Sample], images: EvalImages) -> np.ndarray:
        modality = samples[0].modality
        pool, features = (images.visible, self.visible) if modality == "visible" else (images.infrared, self.infrared)
        row = {s: i for i, s in enumerate(pool)}
        return features[[row[s] for s in samples]]


def embed_images(
    visible: EmbedFn, infrared: EmbedFn, images: EvalImages, height: int, width: int, label: str
) -> Embeddings:
    def run(embed: EmbedFn, samples: list[Sample], modality: str) -> np.ndarray:
        return extract_embeddings(embed, samples, height, width, batch_size=32, description=f"{label} {modality}")

    return Embeddings(run(visible, images.visible, "visible"), run(infrared, images.infrared, "infrared"))


def retrieval(embeddings: Embeddings, images: EvalImages) -> dict[str, dict[str, float]]:
    out = {}
    for split in images.splits:
        metrics = score(
            embeddings.of(split.query, images),
            embeddings.of(split.gallery, images),
            split.query,
            split.gallery,
            split.protocol,
        ).summary()
        out[split.name] = {key: float(metrics[key]) for key in ("R1", "mAP", "mINP")}
    return out


def compare(reference: Embeddings, candidate: Embeddings, images: EvalImages) -> dict[str, Any]:
    """Cosine / max |delta| over every evaluation image, and retrieval metrics with deltas."""
    ref = np.concatenate([reference.visible, reference.infrared])
    cand = np.concatenate([candidate.visible, candidate.infrared])
    cosine = cosine_rows(ref, cand)
    ref_metrics, cand_metrics = retrieval(reference, images), retrieval(candidate, images)
    splits = {
        name: {
            **{key: value for key, value in values.items()},
            **{f"d{key}": value - ref_metrics[name][key] for key, value in values.items()},
        }
        for name, values in cand_metrics.items()
    }
    return {
        "images": len(cosine),
        "cos_min": float(cosine.min()),
        "cos_mean": float(cosine.mean()),
        "max_abs_diff": float(np.abs(ref.astype(np.float64) - cand).max()),
        "splits": splits,
    }
