"""Which convolutions the fp16 graph keeps in float32, measured on calibration images (training split).

Two inputs decide it (docs/architecture.md, "Precision searches"):
- the magnitude rule of NVIDIA ModelOpt's AutoCast: a convolution whose input or output reaches beyond
  `DATA_MAX` (512) on the calibration images stays fp32. fp16 overflows at 65504, and 512 leaves room for
  images brighter than any seen here and for the products and sums that follow;
- measurement: when the rest is still below the target, each remaining convolution is run alone in fp16
  (everything else fp32) to measure what it costs the embedding, and `greedy.keep_fewest` keeps the fewest
  that bring the branch back.
Everything runs in torch on the BatchNorm-folded branch that is then exported, with fp16 emulated (values
rounded through fp16, arithmetic in float32: `mixed_precision_branch(emulate=True)`); the export's gate
re-measures the real fp16 graph through ONNX Runtime on evaluation images, which the search never sees.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from vireid.models import Modality, TwoStreamReID
from vireid_export.fp16 import branch_convolutions, folded_model, mixed_precision_branch
from vireid_export.greedy import Candidate, keep_fewest
from vireid_runtime.manifest import KeptLayer, LayerSensitivity, PrecisionPlan
from vireid_runtime.parity import Bar, cosine_rows

DATA_MAX = 512.0
CHUNK = 16


def torch_embed(branch: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        parts = [branch(torch.from_numpy(images[i : i + CHUNK])).float().numpy() for i in range(0, len(images), CHUNK)]
    return np.concatenate(parts)


def activation_magnitudes(model: TwoStreamReID, modality: Modality, images: np.ndarray) -> dict[str, float]:
    """Per convolution of the folded fp32 branch, the largest |value| of its input or output on `images`."""
    branch = folded_model(model).branch(modality)
    peaks: dict[str, float] = {}

    def record(name: str) -> Callable[..., None]:
        def hook(_module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            peak = max(float(inputs[0].abs().max()), float(output.abs().max()))
            peaks[name] = max(peaks.get(name, 0.0), peak)

        return hook

    handles = [conv.register_forward_hook(record(name)) for name, conv in branch_convolutions(branch).items()]
    try:
        torch_embed(branch, images)
    finally:
        for handle in handles:
            handle.remove()
    return peaks


def _sensitivities(
    names: list[str],
    loud: dict[str, float],
    measure: Callable[[frozenset[str]], np.ndarray],
    deadline: float,
    log: Callable[[str], None],
) -> list[Candidate]:
    """What fp16 costs each convolution the magnitude rule left in fp16, run alone in fp16 (everything else fp32),
    most costly first; stops at `deadline`."""
    candidates: list[Candidate] = []
    for name in names:
        if time.monotonic() > deadline:
            log(f"search budget spent after measuring {len(candidates)} convolutions")
            break
        if name in loud:
            continue
        alone = measure(frozenset(names) - {name})
        candidates.append(Candidate(name, name, 1.0 - alone))
    return sorted(candidates, key=lambda c: c.deficit_mean, reverse=True)


def plan_fp16(
    model: TwoStreamReID,
    modality: Modality,
    images: np.ndarray,
    target: Bar,
    *,
    budget_s: float,
    log: Callable[[str], None],
) -> PrecisionPlan:
    """Choose the fp32 convolutions of the fp16 branch; `images` are calibration images (training split)."""
    start = time.monotonic()
    reference = torch_embed(model.branch(modality).eval(), images)
    names = list(branch_convolutions(folded_model(model).branch(modality)))

    def measure(fp32_layers: frozenset[str]) -> np.ndarray:
        branch = mixed_precision_branch(model, modality, fp32_layers, emulate=True)
        return cosine_rows(reference, torch_embed(branch, images))

    peaks = activation_magnitudes(model, modality, images)
    loud = {name: peak for name, peak in peaks.items() if peak > DATA_MAX}
    kept = [
        KeptLayer(name, name, f"|activation| reaches {peak:.0f} > {DATA_MAX:g} (AutoCast's magnitude rule)")
        for name, peak in loud.items()
    ]
    baseline = measure(frozenset(loud))
    sensitivity: list[LayerSensitivity] = []
    outcome = "met the target with the magnitude rule alone"
    if target.margin(float(baseline.min()), float(baseline.mean())) < 0:
        log(f"  fp16 {modality}: cosine min {baseline.min():.5f} below target {target}; measuring each convolution")
        candidates = _sensitivities(names, loud, measure, start + budget_s, lambda m: log(f"  fp16 {modality}: {m}"))
        sensitivity = [LayerSensitivity(c.layer, c.node, c.deficit_mean, c.deficit_min) for c in candidates]
        remaining = max(0.0, budget_s - (time.monotonic() - start))
        result = keep_fewest(
            candidates, measure, target, must_keep=loud, budget_s=remaining, baseline=baseline, log=log
        )
        deficit = {c.node: c for c in candidates}
        kept += [
            KeptLayer(node, node, f"fp16 alone costs {deficit[node].deficit_mean:.1e} mean cosine")
            for node in result.kept
            if node not in loud
        ]
        outcome = result.outcome
    return PrecisionPlan(
        kept=tuple(kept),
        kept_dtype="fp32",
        candidates=len(names),
        sensitivity=tuple(sensitivity),
        target=target,
        search_images=len(images),
        search_seconds=round(time.monotonic() - start, 2),
        outcome=outcome,
    )
