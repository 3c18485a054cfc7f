"""One branch's export, graph by graph: the context every precision's maker receives, and the makers.

A maker writes its graph into the staging folder and returns the precision plan it followed (none for fp32).
The registry (`precisions.py`) says which maker makes which file; the pipeline runs them in registry order,
so a graph's base (the fp16 graph under the TensorRT int8 graph) is always made first.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from vireid.errors import VireidError
from vireid.io.atomic import atomic_path
from vireid.models import Modality, TwoStreamReID
from vireid_export import defaults
from vireid_export.fp16 import fp32_islands, mixed_precision_branch
from vireid_export.fp16_search import plan_fp16
from vireid_export.images import ModalityImages
from vireid_export.int8.calibration import CalibrationMethod
from vireid_export.int8.flavours import Int8Flavour
from vireid_export.int8.search import Int8Job, keeps_costly_layers, quantize_branch
from vireid_export.int8.speed import relative_speeds
from vireid_export.onnx_graph import check_onnx, export_onnx
from vireid_export.ort_cpu import cpu_session, session_embed
from vireid_runtime.manifest import PrecisionPlan
from vireid_runtime.parity import Bar


@dataclass(frozen=True)
class SearchOptions:
    """How hard the fp16 and int8 searches try (docs/architecture.md, "Precision searches")."""

    margin: float = defaults.SEARCH_MARGIN
    """The searches aim this fraction of the way from the gate's bar to 1, on training images, so that the
    gate, on evaluation images they never saw, still holds."""
    budget_s: float = defaults.SEARCH_BUDGET_S
    """Seconds per graph; a search that runs out keeps what it has and the gate decides."""
    search_images: int = defaults.SEARCH_IMAGES
    """int8: the pool's worst images the layers are ranked on, in one run."""
    methods: tuple[CalibrationMethod, ...] = ()
    """int8 calibration methods to try; empty means the default set."""
    compare_placements: bool = defaults.COMPARE_PLACEMENTS
    """CPU int8: when the first placement keeps costly layers in float, search the flavour's other Q/DQ
    placement too and ship the faster graph (timed side by side on this CPU)."""


@dataclass
class BranchExport:
    model: TwoStreamReID
    modality: Modality
    folder: Path
    height: int
    width: int
    opset: int
    images: ModalityImages
    search: SearchOptions
    log: Callable[[str], None]
    made: dict[str, Path] = field(default_factory=dict)
    """Registry key -> graph written so far for this branch."""
    _training_reference: np.ndarray | None = None

    def path(self, file: str) -> Path:
        return self.folder / file

    def training_reference(self) -> np.ndarray:
        """The fp32 graph's embeddings of the screened training images, computed once for every int8 flavour.

        The fp32 graph, not torch: it was gated against torch first (cosine >= 0.99999), and ONNX Runtime embeds
        the few hundred screened images several times faster than torch on a CPU."""
        if self._training_reference is None:
            session = cpu_session(self.made["fp32"])
            self._training_reference = session_embed(session, self.images.training)
        return self._training_reference


Maker = Callable[[BranchExport, Path, Bar, bool], "PrecisionPlan | None"]
"""(branch, output path, the gate's bar, whether TensorRT will consume it) -> the plan followed."""


def make_fp32(job: BranchExport, out: Path, _bar: Bar, _for_tensorrt: bool) -> PrecisionPlan | None:
    job.log(f"{job.modality}: exporting ONNX fp32 (opset {job.opset})")
    export_onnx(job.model.branch(job.modality), out, height=job.height, width=job.width, opset=job.opset)
    return None


def make_fp16(job: BranchExport, out: Path, bar: Bar, _for_tensorrt: bool) -> PrecisionPlan | None:
    images = job.images.calibration  # fp16 losses are spread evenly; a calibration-sized draw measures them
    job.log(f"{job.modality}: fp16 plan on {len(images)} training images (BatchNorm folded in fp32)")
    plan = plan_fp16(
        job.model,
        job.modality,
        images,
        bar.tightened(job.search.margin),
        budget_s=job.search.budget_s,
        log=job.log,
    )
    kept = [layer.layer for layer in plan.kept]
    job.log(f"{job.modality}: exporting ONNX fp16 ({len(kept)} convolutions kept fp32: {', '.join(kept) or 'none'})")
    branch = mixed_precision_branch(job.model, job.modality, kept)
    export_onnx(branch, out, height=job.height, width=job.width, opset=job.opset)
    islands = fp32_islands(check_onnx(out))
    if not islands.islands_intact(kept):
        raise VireidError(f"{out.name} lost its fp32 islands ({islands}); refusing to ship it")
    return plan


def int8_maker(flavour: Int8Flavour) -> Maker:
    def make_int8(job: BranchExport, out: Path, bar: Bar, _for_tensorrt: bool) -> PrecisionPlan | None:
        base = job.made.get(flavour.base)
        if base is None:
            raise VireidError(f"int8 {flavour.name} quantises the {flavour.base} graph, which was not made first")
        images = job.images
        job.log(
            f"{job.modality}: int8 {flavour.name} from the {flavour.base} graph: ranges from {len(images.training)} "
            f"screened training images, {len(images.pool_rows)} pool images"
        )
        quantized, plan = _search(job, base, flavour, bar)
        if job.search.compare_placements and flavour.fallback is not None and keeps_costly_layers(plan):
            quantized, plan = _faster(job, base, flavour.fallback, bar, (quantized, plan))
        with atomic_path(out) as tmp:
            onnx.save(quantized, os.fspath(tmp))
            check_onnx(tmp)
        kept = ", ".join(layer.layer for layer in plan.kept) or "none"
        job.log(f"{job.modality}: {out.name}: calibration {plan.calibration}; kept in {plan.kept_dtype}: {kept}")
        return plan

    return make_int8


def _search(job: BranchExport, base: Path, flavour: Int8Flavour, bar: Bar) -> tuple[onnx.ModelProto, PrecisionPlan]:
    images = job.images
    job.log(f"{job.modality}: int8 Q/DQ on the {flavour.placement}")
    extra = {"methods": job.search.methods} if job.search.methods else {}
    return quantize_branch(
        Int8Job(
            base_onnx=base,
            flavour=flavour,
            training=images.training,
            reference=job.training_reference(),
            pool_rows=images.pool_rows,
            target=bar.tightened(job.search.margin),
            budget_s=job.search.budget_s,
            ranking_images=job.search.search_images,
            **extra,  # type: ignore[arg-type]
        ),
        log=job.log,
    )


def _faster(
    job: BranchExport,
    base: Path,
    fallback: Int8Flavour,
    bar: Bar,
    first: tuple[onnx.ModelProto, PrecisionPlan],
) -> tuple[onnx.ModelProto, PrecisionPlan]:
    """The first search kept costly layers in float: search the other placement too and ship the faster graph."""
    job.log(f"{job.modality}: layers costing >= 1 % of the work stay float; searching the other placement too")
    second = _search(job, base, fallback, bar)
    met = [plan.outcome.startswith("met") for _, plan in (first, second)]
    if met[0] != met[1]:  # a graph that met its target beats one that did not; no need to time them
        chosen = int(not met[0])
        why = "the other placement missed its target"
    else:
        speeds = relative_speeds([first[0], second[0]], job.images.pool[:8])
        chosen = int(speeds[1] > speeds[0])
        why = f"{speeds[chosen] / speeds[1 - chosen]:.2f}x the speed of the other, measured side by side on this CPU"
    quantized, plan = (first, second)[chosen]
    other = (first, second)[1 - chosen][1]
    note = f"{plan.placement}; {why} (Q/DQ on the {other.placement}: {len(other.kept)} layers kept float)"
    job.log(f"{job.modality}: chose Q/DQ on the {note}")
    return quantized, dataclasses.replace(plan, placement=note)
