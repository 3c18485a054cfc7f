"""The parity gate: every exported graph or engine must give the torch branch's embeddings back.

Figures, per artifact, on real images: per-sample cosine similarity to the torch fp32 branch (min and mean)
and the largest absolute difference of any embedding component. Thresholds per precision:

| precision | cosine min | cosine mean | why |
| --- | --- | --- | --- |
| fp32 | 0.99999 | 0.999995 | same arithmetic, only operation order and fusions differ |
| fp16 | 0.999 | 0.9995 | 10-bit mantissa storage; sensitive parts kept in fp32 |
| int8 | 0.95 | 0.98 | 8-bit weights and activations after calibration |

The int8 bar is about embeddings; what matters for retrieval is the Rank-1 / mAP change, which `vireid
bench` measures on the whole evaluation split. An export below a bar fails with its figures unless
`--no-verify` is given; the figures go into manifest.json either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vireid.errors import VireidError

THRESHOLDS: dict[str, dict[str, float]] = {
    "fp32": {"cos_min": 0.99999, "cos_mean": 0.999995},
    "fp16": {"cos_min": 0.999, "cos_mean": 0.9995},
    "int8": {"cos_min": 0.95, "cos_mean": 0.98},
}


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norms = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    return (a64 * b64).sum(axis=1) / np.maximum(norms, 1e-12)


def parity_figures(reference: np.ndarray, candidate: np.ndarray, precision: str) -> dict[str, Any]:
    """Cosine min / mean and max |delta| of `candidate` against `reference`, judged against the bar."""
    if reference.shape != candidate.shape:
        raise VireidError(f"parity: shapes differ, reference {reference.shape} vs candidate {candidate.shape}")
    cosine = cosine_rows(reference, candidate)
    threshold = THRESHOLDS[precision]
    cos_min, cos_mean = float(cosine.min()), float(cosine.mean())
    return {
        "images": len(cosine),
        "cos_min": cos_min,
        "cos_mean": cos_mean,
        "max_abs_diff": float(np.abs(reference.astype(np.float64) - candidate).max()),
        "threshold": threshold,
        "passed": cos_min >= threshold["cos_min"] and cos_mean >= threshold["cos_mean"],
    }


def describe(figures: dict[str, Any]) -> str:
    t = figures["threshold"]
    return (
        f"cosine min {figures['cos_min']:.6f} (bar {t['cos_min']}), mean {figures['cos_mean']:.6f} "
        f"(bar {t['cos_mean']}), max |Δ| {figures['max_abs_diff']:.2e} over {figures['images']} images"
    )
