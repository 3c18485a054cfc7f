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
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vireid import __version__
from vireid.errors import VireidError
from vireid.io.atomic import atomic_write_text
from vireid.io.rundir import load_run, weights_path
from vireid.models import MODALITIES, Modality, TwoStreamReID
from vireid.progress import log as default_log
from vireid_export.fp16 import fp32_islands, half_branch
from vireid_export.images import ModalityImages, gather_images
from vireid_export.int8 import FLAVOURS, quantize
from vireid_export.onnx_graph import DEFAULT_OPSET, check_onnx, export_onnx, opset_of
from vireid_export.parity import THRESHOLDS, describe, parity_figures
from vireid_runtime.load import sha256_file
from vireid_runtime.manifest import MANIFEST_FILE, PRECISIONS, Artifact, BatchRange, InputSpec, Manifest, OutputSpec

ENGINES = ("onnx", "trt")


@dataclass(frozen=True)
class ExportOptions:
    engine: str = "onnx"
    precisions: tuple[str, ...] = ("fp32",)
    batches: tuple[int, ...] = (1, 8, 64)
    calib_data: str | None = None
    calib_count: int = 64
    parity_count: int = 32
    opset: int = DEFAULT_OPSET
    verify: bool = True
    force: bool = False
    weights: str = "best"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise VireidError(f"--engine must be onnx or trt, got {self.engine!r}")
        unknown = [p for p in self.precisions if p not in PRECISIONS]
        if unknown or not self.precisions:
            raise VireidError(f"--precision takes {', '.join(PRECISIONS)}, got {', '.join(self.precisions)}")
        if not self.batches or min(self.batches) < 1:
            raise VireidError("--batch needs positive batch sizes, e.g. 1,8,64")
        if self.calib_count < 1 or self.parity_count < 2:
            raise VireidError("--calib-count must be >= 1 and --parity-count >= 2")
        if self.weights not in ("best", "final"):
            raise VireidError("--weights must be best or final")

    @property
    def batch_range(self) -> BatchRange:
        ordered = sorted(set(self.batches))
        return BatchRange(min=ordered[0], opt=ordered[len(ordered) // 2], max=ordered[-1])


def onnx_file(modality: str, precision: str, flavour: str = "") -> str:
    if precision == "int8":
        return f"{modality}.{FLAVOURS[flavour]}"
    return f"{modality}.onnx" if precision == "fp32" else f"{modality}.{precision}.onnx"


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


def _ort_embed(path: Path, batch: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(os.fspath(path), sess_options=options, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"images": batch[i : i + 16]})[0] for i in range(0, len(batch), 16)])


def _torch_embed(model: TwoStreamReID, modality: Modality, batch: np.ndarray) -> np.ndarray:
    branch = model.branch(modality).eval()
    with torch.inference_mode():
        return np.concatenate([branch(torch.from_numpy(batch[i : i + 16])).numpy() for i in range(0, len(batch), 16)])


def _check_writable(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise VireidError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise VireidError(f"{out} is not empty; pass --force to replace it (artifacts are never mixed)")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise VireidError(f"--out {out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise VireidError(f"--out {out} is not writable (no write permission on {parent})")


def _publish(staging: Path, out: Path) -> None:
    """Move the finished staging folder to `out`, replacing an old export only now that the new one is complete."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
        self.weights = weights_path(run_dir, options.weights)  # type: ignore[arg-type]
        if not self.weights.is_file():
            self.weights = weights_path(run_dir, "final")
        self.input_spec = InputSpec(height=self.config.model.height, width=self.config.model.width)
        self.output_spec = OutputSpec(dim=self.config.model.embedding_dim)
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
        return gather_images(
            root,
            modality,
            height=self.input_spec.height,
            width=self.input_spec.width,
            parity=self.options.parity_count,
            calibration=self.options.calib_count,
            trial=self.config.data.trial,
        )

    def judge(self, name: str, precision: str, reference: np.ndarray, candidate: np.ndarray) -> dict[str, Any]:
        figures = parity_figures(reference, candidate, precision)
        status = "ok" if figures["passed"] else "BELOW THE BAR"
        self.log(f"  {name}: {describe(figures)} — {status}")
        if not figures["passed"]:
            self.failures.append(f"{name}: {describe(figures)}")
        return figures

    def export_modality(self, folder: Path, modality: Modality, trt_env: dict[str, str] | None) -> None:
        options, spec = self.options, self.input_spec
        images = self.images(modality)
        onnx_files: dict[str, Path] = {}
        fp32_path = folder / onnx_file(modality, "fp32")
        self.log(f"{modality}: exporting ONNX fp32 (opset {options.opset})")
        export_onnx(self.model.branch(modality), fp32_path, height=spec.height, width=spec.width, opset=options.opset)
        onnx_files["fp32"] = fp32_path
        reference = _torch_embed(self.model, modality, images.parity)
        source = {"reference": "torch fp32 branch of the run", "images_from": images.source, "backend": "ort-cpu"}
        figures = self.judge(fp32_path.name, "fp32", reference, _ort_embed(fp32_path, images.parity))
        self.artifacts.append(_artifact(folder, fp32_path.name, modality, "fp32", "onnx", parity={**source, **figures}))
        if "fp16" in options.precisions:
            path = folder / onnx_file(modality, "fp16")
            self.log(f"{modality}: exporting ONNX fp16 (GeM, attention gates and normalisation kept in fp32)")
            export_onnx(
                half_branch(self.model, modality), path, height=spec.height, width=spec.width, opset=options.opset
            )
            islands = fp32_islands(check_onnx(path))
            if not islands.islands_intact:
                raise VireidError(f"{path.name} lost its fp32 islands ({islands}); refusing to ship it")
            onnx_files["fp16"] = path
            figures = self.judge(path.name, "fp16", reference, _ort_embed(path, images.parity))
            note = {"note": "ONNX Runtime's CPU provider runs fp16 graphs with fp16 tensors between ops and fp32 math"}
            self.artifacts.append(
                _artifact(folder, path.name, modality, "fp16", "onnx", parity={**source, **note, **figures})
            )
        if "int8" in options.precisions:
            batches = [images.calibration[i : i + 8] for i in range(0, len(images.calibration), 8)]
            for flavour in FLAVOURS:
                path = folder / onnx_file(modality, "int8", flavour)
                self.log(f"{modality}: quantising int8 {flavour} on {len(images.calibration)} calibration images")
                quantize(fp32_path, path, flavour, batches)
                check_onnx(path)
                figures = self.judge(path.name, "int8", reference, _ort_embed(path, images.parity))
                self.artifacts.append(
                    _artifact(
                        folder,
                        path.name,
                        modality,
                        "int8",
                        "onnx",
                        flavour=flavour,
                        parity={**source, "calibration_images": len(images.calibration), **figures},
                    )
                )
            onnx_files["int8"] = folder / onnx_file(modality, "int8", "qdq-s8-symmetric")
        if trt_env is not None:
            self.export_engines(folder, modality, onnx_files, reference, images, source)

    def export_engines(
        self,
        folder: Path,
        modality: Modality,
        onnx_files: dict[str, Path],
        reference: np.ndarray,
        images: ModalityImages,
        source: dict[str, str],
    ) -> None:
        from vireid_export.tensorrt_build import build_engine
        from vireid_runtime.backends.tensorrt import TensorRTEmbedder

        spec, batch = self.input_spec, self.options.batch_range
        cache = folder / "timing.cache"
        previous = self.out / "timing.cache"
        if previous.is_file() and not cache.exists():
            shutil.copyfile(previous, cache)  # tactics timed by an earlier export on this GPU carry over
        for precision in self.options.precisions:
            plan = folder / f"{modality}.{precision}.plan"
            self.log(f"{modality}: building TensorRT {precision} engine from {onnx_files[precision].name}")
            record = build_engine(
                onnx_files[precision],
                plan,
                input_name=spec.name,
                channels=spec.channels,
                height=spec.height,
                width=spec.width,
                batch_min=batch.min,
                batch_opt=batch.opt,
                batch_max=batch.max,
                timing_cache_path=cache,
                log=self.log,
            )
            artifact = _artifact(folder, plan.name, modality, precision, "plan", engine=record)
            with TensorRTEmbedder(artifact, plan, spec, self.output_spec, batch) as embedder:
                candidate = embedder.embed(images.parity)
            figures = self.judge(plan.name, precision, reference, candidate)
            self.artifacts.append(Artifact(**{**asdict(artifact), "parity": {**source, "backend": "trt", **figures}}))

    def run(self) -> Manifest:
        options = self.options
        trt_env = None
        if options.engine == "trt":
            from vireid_export.tensorrt_build import tensorrt_environment

            trt_env = tensorrt_environment()  # a clear error before anything is written
        _check_writable(self.out, options.force)
        parent = self.out.resolve().parent
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.partial-", dir=parent))
        except OSError as err:
            raise VireidError(f"--out {self.out} is not writable ({err.strerror}: {parent})") from None
        staging.chmod(0o755)  # mkdtemp makes it private; the published artifact folder is meant to be shared
        try:
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
            _publish(staging, self.out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return manifest

    def manifest(self, folder: Path, trt_env: dict[str, str] | None) -> Manifest:
        import onnx

        opset = opset_of(onnx.load(os.fspath(folder / onnx_file("visible", "fp32")), load_external_data=False))
        model_config = asdict(self.config.model)
        return Manifest(
            input=self.input_spec,
            output=self.output_spec,
            batch=self.options.batch_range,
            opset=opset,
            artifacts=tuple(self.artifacts),
            model=model_config,
            checkpoint={
                "file": self.weights.name,
                "sha256": sha256_file(self.weights),
                "weights": self.options.weights,
            },
            data_root=self.config.data.root,
            run_dir=str(self.run_dir.resolve()),
            tools={**_tool_versions(self.options.engine), **({"gpu": trt_env["gpu"]} if trt_env else {})},
            parity_thresholds=THRESHOLDS,
            created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            vireid_version=__version__,
        )


def export_run(
    run_dir: str | Path, out: str | Path, options: ExportOptions, log: Callable[[str], None] = default_log
) -> Manifest:
    """Export both branches of `run_dir` into `out` as `options` say; returns the manifest written."""
    return Exporter(Path(run_dir), Path(out), options, log).run()


def parse_precisions(values: Sequence[str]) -> tuple[str, ...]:
    """Requested precisions in canonical order. The fp32 ONNX is written whatever is asked: it is the reference
    graph, and the int8 graphs are quantised from it; TensorRT plans are built only for the requested ones."""
    unknown = [v for v in values if v not in PRECISIONS]
    if unknown or not values:
        raise VireidError(
            f"--precision takes a comma-separated subset of {','.join(PRECISIONS)}, got {','.join(values)}"
        )
    return tuple(p for p in PRECISIONS if p in values)
