"""Parity maths: how close a deployed branch's embeddings are to the reference's, judged against a bar.

One module for the export's gate, the bench and the runtime's readers of manifest.json, so that "cosine min"
means the same everywhere (docs/architecture.md, "Parity"). It is numpy only, because the torch-free runtime
reads the figures too. The reference is the torch fp32 branch; the candidate is the graph or engine under test,
on the same preprocessed images.

Figures: per-image cosine similarity (min, 1st percentile, mean, and how many images fall below the bar's
minimum, computed in float64 on the raw outputs), the largest absolute difference of any embedding component,
and the range of the candidate's L2 norms. The tail figures are there because a mean hides a class of images
that breaks: on the demo, 9 overexposed infrared images of 284 fell to cosine 0.73 while the mean stayed 0.996.
The embeddings are promised L2-normalised, so a candidate whose norms leave 1 +- NORM_TOLERANCE fails even when
its directions are right: a consumer that trusts the contract would rank with wrong scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Bar:
    """The least cosine similarity to the reference an artifact may have: over every image, and on average."""

    cos_min: float
    cos_mean: float

    def holds(self, cos_min: float, cos_mean: float) -> bool:
        return cos_min >= self.cos_min and cos_mean >= self.cos_mean

    def margin(self, cos_min: float, cos_mean: float) -> float:
        """How far above the bar (negative: below), the worse of the two: one number to rank candidates by."""
        return min(cos_min - self.cos_min, cos_mean - self.cos_mean)

    def tightened(self, fraction: float) -> Bar:
        """A stricter bar: `fraction` of the distance between this bar and 1 is taken away (0 = unchanged)."""
        return Bar(
            cos_min=self.cos_min + fraction * (1.0 - self.cos_min),
            cos_mean=self.cos_mean + fraction * (1.0 - self.cos_mean),
        )

    def __str__(self) -> str:
        return f"min {self.cos_min:g} / mean {self.cos_mean:g}"


@dataclass(frozen=True)
class ParityFigures:
    images: int
    cos_min: float
    cos_mean: float
    max_abs_diff: float
    norm_min: float
    norm_max: float
    bar: Bar
    passed: bool
    cos_p01: float | None = None
    """The 1st-percentile cosine: where the tail starts (None in records written before it was kept)."""
    below: int | None = None
    """How many images fall below the bar's minimum cosine."""

    @property
    def norms_ok(self) -> bool:
        return abs(self.norm_min - 1.0) <= NORM_TOLERANCE and abs(self.norm_max - 1.0) <= NORM_TOLERANCE

    def cells(self, digits: int = 6) -> list[str]:
        """cos min, cos p1, below bar ("n / images") and cos mean as the report tables show them ("-" where a
        record predates the tail figures): the gate's table, the bench's and the demo's."""
        p01 = "-" if self.cos_p01 is None else f"{self.cos_p01:.{digits}f}"
        below = "-" if self.below is None else f"{self.below} / {self.images}"
        return [f"{self.cos_min:.{digits}f}", p01, below, f"{self.cos_mean:.{digits}f}"]

    def describe(self) -> str:
        tail = "" if self.cos_p01 is None else f", 1st percentile {self.cos_p01:.6f}"
        if self.below:
            tail += f", {self.below} below {self.bar.cos_min:g}"
        text = (
            f"cosine min {self.cos_min:.6f} (bar {self.bar.cos_min:g}){tail}, mean {self.cos_mean:.6f} "
            f"(bar {self.bar.cos_mean:g}), max |Δ| {self.max_abs_diff:.2e} over {self.images} images"
        )
        if not self.norms_ok:
            text += f"; L2 norms {self.norm_min:.4f}..{self.norm_max:.4f}, not 1 (the output must be normalised)"
        return text


_FP16_BAR = Bar(cos_min=0.999, cos_mean=0.9995)
BARS = {
    "fp32": Bar(cos_min=0.99999, cos_mean=0.999995),
    "fp16": _FP16_BAR,
    "bf16": _FP16_BAR,
    "int8": Bar(cos_min=0.99, cos_mean=0.995),
}
"""Cosine to the torch fp32 branch, min / mean, per precision. fp32: only operation order and fusions differ;
fp16: a 10-bit mantissa, with the fragile layers kept fp32; bf16 (a backend's mode on the fp32 graph) is held to
the fp16 bar although its mantissa has 7 bits; int8: 8-bit steps, with the most sensitive layers kept in float.
The export's gates and the bench judge by these."""


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of `a` with the same row of `b`, in float64.

    A row holding inf or NaN (an fp16 overflow, say) scores -1, the worst possible, rather than NaN, which
    would compare as neither better nor worse than any bar.
    """
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        norms = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
        cosine = (a64 * b64).sum(axis=1) / np.maximum(norms, 1e-12)
    finite = np.isfinite(a64).all(axis=1) & np.isfinite(b64).all(axis=1) & np.isfinite(cosine)
    return np.where(finite, cosine, -1.0)


def parity_figures(reference: np.ndarray, candidate: np.ndarray, bar: Bar) -> ParityFigures:
    """Compare `candidate` with `reference` (both N x D) and judge the result against `bar`."""
    if reference.shape != candidate.shape:
        raise ValueError(f"parity: shapes differ, reference {reference.shape} vs candidate {candidate.shape}")
    if len(reference) == 0:
        raise ValueError("parity: no images to compare")
    cosine = cosine_rows(reference, candidate)
    with np.errstate(invalid="ignore", over="ignore"):
        norms = np.linalg.norm(candidate.astype(np.float64), axis=1)
    cos_min, cos_mean = float(cosine.min()), float(cosine.mean())
    figures = ParityFigures(
        images=len(cosine),
        cos_min=cos_min,
        cos_mean=cos_mean,
        max_abs_diff=float(np.abs(reference.astype(np.float64) - candidate).max()),
        norm_min=float(norms.min()),
        norm_max=float(norms.max()),
        bar=bar,
        passed=False,
        cos_p01=float(np.percentile(cosine, 1)),
        below=int((cosine < bar.cos_min).sum()),
    )
    passed = bar.holds(cos_min, cos_mean) and figures.norms_ok
    return ParityFigures(**{**figures.__dict__, "passed": passed})
