"""`vireid export`: a run directory in, per-branch ONNX / TensorRT artifacts and manifest.json out, or a refusal.

Everything is written into a staging folder beside ART_DIR and moved into place only when the whole export,
the parity gate included, has succeeded; manifest.json is the last file written. A killed or failed export
therefore never leaves a half-written artifact directory that `vireid bench` or the runtime would load, and
an existing ART_DIR is only replaced with `--force`, never mixed with new files.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vireid import __version__
from vireid.errors import VireidError
from vireid.eval.extract import torch_embedder
from vireid.io.atomic import atomic_write_text, staged_folder
from vireid.io.rundir import chosen_weights, load_run
from vireid.models import MODALITIES, Modality
from vireid.models.reid import IMAGENET_MEAN, IMAGENET_STD
from vireid.progress import log as default_log
from vireid_export import defaults
from vireid_export.branch import BranchExport, SearchOptions
from vireid_export.images import ModalityImages, gather_images
from vireid_export.int8 import flavours
from vireid_export.int8.calibration import CalibrationMethod, method_named
from vireid_export.onnx_graph import opset_of
from vireid_export.ort_cpu import cpu_session, session_embed
from vireid_export.precisions import PrecisionSpec, graphs_for, spec, tensorrt_source
from vireid_export.tensorrt_check import check_for_tensorrt
from vireid_runtime.load import sha256_file
from vireid_runtime.manifest import (
    MANIFEST_FILE,
    Artifact,
    BatchRange,
    Checkpoint,
    InputSpec,
    Manifest,
    OutputSpec,
    PrecisionPlan,
    Preprocessing,
)
from vireid_runtime.parity import Bar, ParityFigures, parity_figures

ENGINES = ("onnx", "trt")


@dataclass(frozen=True)
class ExportOptions:
    engine: str = "onnx"
    precisions: tuple[str, ...] = ("fp32",)
    int8_targets: tuple[str, ...] = flavours.TARGETS
    """Which int8 graphs `int8` writes: "tensorrt" (s8 Q/DQ on the fp16 graph) and/or "cpu" (u8s8 on fp32)."""
    batches: tuple[int, ...] = (1, 8, 64)
    calib_data: str | None = None
    calib_count: int = defaults.CALIB_COUNT
    search_pool: int = defaults.SEARCH_POOL
    screen_count: int = defaults.SCREEN_COUNT
    gate_images: int | None = defaults.GATE_IMAGES
    """Evaluation images per branch the gate judges: None for every one, else a stratified draw with extremes."""
    opset: int = defaults.DEFAULT_OPSET
    verify: bool = True
    force: bool = False
    weights: str = "best"
    search: SearchOptions = field(default_factory=SearchOptions)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise VireidError(f"--engine must be onnx or trt, got {self.engine!r}")
        graphs_for(self.precisions, self.int8_targets)  # one clear line for an unknown precision or target
        if self.engine == "trt" and "int8" in self.precisions and flavours.TENSORRT.target not in self.int8_targets:
            raise VireidError(
                "--engine trt builds its int8 engine from the tensorrt int8 graph; add tensorrt to --int8-targets"
            )
        if not self.batches or min(self.batches) < 1:
            raise VireidError("--batch needs positive batch sizes, e.g. 1,8,64")
        if self.gate_images is not None and self.gate_images < 8:
            raise VireidError("--gate-images must be at least 8 (the extremes and some of the rest), or left out")
        if self.calib_count < 1 or self.search_pool < 2 or self.screen_count < self.search_pool:
            raise VireidError("--calib-count must be >= 1, --search-pool >= 2 and --screen-images >= --search-pool")
        if self.weights not in ("best", "final"):
            raise VireidError("--weights must be best or final")
        if self.opset < defaults.MIN_OPSET:
            raise VireidError(
                f"--opset {self.opset} is too old; the dynamo exporter needs opset >= {defaults.MIN_OPSET}"
            )
        if self.opset > defaults.MAX_OPSET:
            raise VireidError(
                f"--opset {self.opset} is too new for TensorRT 10's ONNX parser; use {defaults.MAX_OPSET} or lower"
            )
        if "int8" in self.precisions and self.opset < defaults.INT8_MIN_OPSET:
            raise VireidError(f"--precision int8 needs --opset >= {defaults.INT8_MIN_OPSET} (fp16 Q/DQ scales)")
        if not 0 <= self.search.margin < 1 or self.search.budget_s <= 0 or self.search.search_images < 2:
            raise VireidError("--search-margin must be in [0, 1), --search-budget > 0 and --search-images >= 2")

    @property
    def batch_range(self) -> BatchRange:
        ordered = sorted(set(self.batches))
        return BatchRange(min=ordered[0], opt=ordered[len(ordered) // 2], max=ordered[-1])


def parse_calibration(values: Sequence[str]) -> tuple[CalibrationMethod, ...]:
    """`--calibration` names -> calibration methods (VireidError naming the choices for an unknown one)."""
    try:
        return tuple(method_named(v) for v in values)
    except ValueError as err:
        raise VireidError(str(err)) from None


def _artifact(folder: Path, name: str, modality: str, precision: str, fmt: str, **extra: Any) -> Artifact:
    path = folder / name
    return Artifact(
        modality=modality,
        precision=precision,
        format=fmt,
        file=name,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        **extra,
    )


def _tool_versions(engine: str) -> dict[str, str]:
    import onnx
    import onnxruntime
    import onnxscript

    versions = {
        "vireid": __version__,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxscript": onnxscript.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    if engine == "trt":
        import tensorrt

        versions["tensorrt"] = tensorrt.__version__
    return versions


class Exporter:
    def __init__(self, run_dir: Path, out: Path, options: ExportOptions, log: Callable[[str], None]) -> None:
        self.run_dir, self.out, self.options, self.log = run_dir, out, options, log
        self.config, self.model = load_run(run_dir, options.weights)  # type: ignore[arg-type]
        self.weights_used, self.weights = chosen_weights(run_dir, options.weights)  # type: ignore[arg-type]
        self.input_spec = InputSpec(
            height=self.config.model.height,
            width=self.config.model.width,
            preprocessing=Preprocessing(mean=IMAGENET_MEAN, std=IMAGENET_STD),  # what the graph normalises by
        )
        self.output_spec = OutputSpec(dim=self.config.model.embedding_dim)
        self.graphs = graphs_for(options.precisions, options.int8_targets)
        self.artifacts: list[Artifact] = []
        self.failures: list[str] = []

    def images(self, modality: Modality) -> ModalityImages:
        root = self.options.calib_data or self.config.data.root
        if not root:
            raise VireidError("no images for the parity gate: the run records no dataset; pass --calib-data PATH")
        if not Path(root).exists():
            raise VireidError(
                f"the run's dataset {root} is gone; pass --calib-data PATH (a dataset or a folder of images)"
            )
        searched = any(entry.key != "fp32" for entry in self.graphs)  # fp32 alone needs no training images
        return gather_images(
            root,
            modality,
            height=self.input_spec.height,
            width=self.input_spec.width,
            gate=self.options.gate_images,
            screen=self.options.screen_count if searched else 0,
            pool=self.options.search_pool if searched else 0,
            calibration=self.options.calib_count if searched else 0,
            trial=self.config.data.trial,
        )

    def judge(self, name: str, bar: Bar, reference: np.ndarray, candidate: np.ndarray) -> ParityFigures:
        figures = parity_figures(reference, candidate, bar)
        status = "ok" if figures.passed else "BELOW THE BAR"
        self.log(f"  {name}: {figures.describe()} — {status}")
        if not figures.passed:
            self.failures.append(f"{name}: {figures.describe()}")
        return figures

    def export_modality(self, folder: Path, modality: Modality, trt_env: dict[str, str] | None) -> None:
        images = self.images(modality)
        embed = torch_embedder(self.model.branch(modality))
        job = BranchExport(
            model=self.model,
            modality=modality,
            folder=folder,
            height=self.input_spec.height,
            width=self.input_spec.width,
            opset=self.options.opset,
            images=images,
            search=self.options.search,
            log=self.log,
        )
        reference = _in_chunks(embed, images.parity)
        for entry in self.graphs:
            path = folder / entry.file(modality)
            plan = entry.make(job, path, entry.bar, entry.for_tensorrt)
            job.made[entry.key] = path
            if entry.for_tensorrt:  # before any GPU is involved, whatever --engine says
                import onnx

                check_for_tensorrt(onnx.load(os.fspath(path)), path.name)
            session = cpu_session(path, emulate_qdq=entry.emulate_qdq)
            figures = self.judge(path.name, entry.bar, reference, session_embed(session, images.parity))
            self.artifacts.append(
                _artifact(
                    folder,
                    path.name,
                    modality,
                    entry.precision,
                    "onnx",
                    flavour=entry.flavour,
                    backends=entry.backends,
                    parity=figures,
                    parity_source=_parity_source(entry, images),
                    plan=plan,
                )
            )
            _print_plan(self.log, path.name, plan)
        if trt_env is not None:
            self.export_engines(folder, modality, job.made, reference, images)

    def export_engines(
        self,
        folder: Path,
        modality: Modality,
        onnx_files: dict[str, Path],
        reference: np.ndarray,
        images: ModalityImages,
    ) -> None:
        from vireid_export.tensorrt_build import build_engine
        from vireid_runtime.backends.tensorrt import TensorRTEmbedder

        spec_in, batch = self.input_spec, self.options.batch_range
        cache = folder / "timing.cache"
        previous = self.out / "timing.cache"
        if previous.is_file() and not cache.exists():
            shutil.copyfile(previous, cache)  # tactics timed by an earlier export on this GPU carry over
        for precision in self.options.precisions:
            source = tensorrt_source(precision)
            plan = folder / f"{modality}.{precision}.plan"
            self.log(f"{modality}: building TensorRT {precision} engine from {onnx_files[source.key].name}")
            record = build_engine(
                onnx_files[source.key],
                plan,
                input_name=spec_in.name,
                channels=spec_in.channels,
                height=spec_in.height,
                width=spec_in.width,
                batch_min=batch.min,
                batch_opt=batch.opt,
                batch_max=batch.max,
                timing_cache_path=cache,
                allow_tf32=precision != "fp32",
                log=self.log,
            )
            artifact = _artifact(folder, plan.name, modality, precision, "plan", engine=record, backends=("trt",))
            with TensorRTEmbedder(artifact, plan, spec_in, self.output_spec, batch) as embedder:
                candidate = embedder.embed(images.parity)
            figures = self.judge(plan.name, source.bar, reference, candidate)
            self.artifacts.append(
                Artifact(
                    **{
                        **asdict_shallow(artifact),
                        "parity": figures,
                        "parity_source": f"torch fp32 branch vs the plan on {images.parity_selection}",
                    }
                )
            )

    def run(self) -> Manifest:
        options = self.options
        trt_env = None
        if options.engine == "trt":
            from vireid_export.tensorrt_build import tensorrt_environment

            trt_env = tensorrt_environment()  # a clear error before anything is written
        with staged_folder(self.out, options.force) as staging:
            for modality in MODALITIES:
                self.export_modality(staging, modality, trt_env)
            if self.failures and options.verify:
                raise VireidError(
                    "parity gate failed (nothing was written): "
                    + "; ".join(self.failures)
                    + " — fix the model or the export, or pass --no-verify to write it anyway"
                )
            manifest = self.manifest(staging, trt_env)
            atomic_write_text(staging / MANIFEST_FILE, manifest.to_json())
        return manifest

    def manifest(self, folder: Path, trt_env: dict[str, str] | None) -> Manifest:
        import onnx

        fp32_file = spec("fp32").file("visible")
        opset = opset_of(onnx.load(os.fspath(folder / fp32_file), load_external_data=False))
        model_config = asdict(self.config.model)
        return Manifest(
            input=self.input_spec,
            output=self.output_spec,
            batch=self.options.batch_range,
            opset=opset,
            artifacts=tuple(self.artifacts),
            model=model_config,
            checkpoint=Checkpoint(self.weights.name, sha256_file(self.weights), self.weights_used),
            data_root=self.config.data.root,
            data_trial=self.config.data.trial,
            run_dir=str(self.run_dir.resolve()),
            tools={**_tool_versions(self.options.engine), **({"gpu": trt_env["gpu"]} if trt_env else {})},
            created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            vireid_version=__version__,
        )


def asdict_shallow(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, nested records kept as they are (unlike `dataclasses.asdict`)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _in_chunks(embed: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, chunk: int = 16) -> np.ndarray:
    return np.concatenate([embed(batch[i : i + chunk]) for i in range(0, len(batch), chunk)])


def _parity_source(entry: PrecisionSpec, images: ModalityImages) -> str:
    how = "ONNX Runtime CPU, Q/DQ emulated as a GPU computes it" if entry.emulate_qdq else "ONNX Runtime CPU"
    return f"torch fp32 branch vs {how}, on {images.parity_selection}; {images.source}"


def _print_plan(log: Callable[[str], None], name: str, plan: PrecisionPlan | None) -> None:
    if plan is None:
        return
    kept = ", ".join(layer.layer for layer in plan.kept) or "none"
    log(
        f"  {name}: {len(plan.kept)} of {plan.candidates} layers kept in {plan.kept_dtype} ({kept}); "
        f"search {plan.search_seconds:.0f} s on {plan.search_images} pool images"
        + (f" ({plan.screened_images} screened, {plan.measurements} graphs measured)" if plan.screened_images else "")
        + f": {plan.outcome}"
    )
    for row in plan.sensitivity[:5]:
        log(f"    sensitivity {row.layer}: mean cosine lost {row.deficit_mean:.2e}, worst image {row.deficit_min:.2e}")
    for rank in plan.ranking[:5]:
        log(
            f"    ranked {rank.layer}: own int8 error {rank.error_max:.1e} (worst image), "
            f"{100 * rank.cost:.2f} % of the multiply-adds"
        )


def export_run(
    run_dir: str | Path, out: str | Path, options: ExportOptions, log: Callable[[str], None] = default_log
) -> Manifest:
    """Export both branches of `run_dir` into `out` as `options` say; returns the manifest written."""
    return Exporter(Path(run_dir), Path(out), options, log).run()


def parse_precisions(values: Sequence[str]) -> tuple[str, ...]:
    """Requested precisions in canonical order (VireidError for unknown ones). The fp32 ONNX is written whatever
    is asked (it is the reference, and the CPU int8 graph is quantised from it), and int8 for TensorRT brings fp16
    with it (the TensorRT int8 graph is the fp16 graph with Q/DQ); TensorRT plans are built for the asked ones only."""
    graphs_for(values)
    return tuple(p for p in ("fp32", "fp16", "int8") if p in values)
