"""manifest.json: the contract between `vireid export` (writer) and the runtime / bench (readers).

One schema, defined here because the torch-free runtime must read it; the exporter builds these dataclasses and
writes them. It records how to feed the graphs (input spec, preprocessing), what they return, which files exist
for which modality / precision and which backends each is meant for, the checkpoint they came from, the tools
and GPU that built them, the parity figures measured at export time, and for fp16 and int8 the precision plan:
which layers were kept in higher precision, why, and the per-layer sensitivity that decided it
(docs/architecture.md, "Artifacts and manifest").

Every record is a frozen dataclass; `manifest_from_dict` rebuilds nested records from their type hints
(`records.py`), so a reader gets typed objects back, never nested dicts read by string keys.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vireid_runtime.errors import ArtifactError
from vireid_runtime.parity import Bar, ParityFigures
from vireid_runtime.records import build

MANIFEST_FILE = "manifest.json"
FORMAT = "vireid-artifacts/5"
"""2: typed parity figures with norms, per-artifact backends, precision plans (kept layers, sensitivity).
3: machine-readable preprocessing (`Preprocessing`), which the Triton and DeepStream config writers read.
4: the parity figures' tail (1st-percentile cosine, images below the bar) and the search's measurement count.
5: typed `EngineRecord` (null for ONNX files, was {}) and `Checkpoint`."""
READABLE_FORMATS = ("vireid-artifacts/2", "vireid-artifacts/3", "vireid-artifacts/4", FORMAT)
"""A /2 manifest reads with the default `Preprocessing`, which is what every /2 export did; /2 and /3 read with
no tail figures (None); up to /4 an ONNX file's engine record is {} and reads as None."""
MODALITIES = ("visible", "infrared")
PRECISIONS = ("fp32", "fp16", "int8")
INPUT_NAME = "images"
OUTPUT_NAME = "embedding"


@dataclass(frozen=True)
class Preprocessing:
    """What a consumer must do to an image before the graph, as values, not sentences: the DeepStream tracker
    and Triton clients are configured from these, and the runtime checks that they are what it implements."""

    color_order: str = "RGB"
    pixel_scale: float = 1 / 255
    """graph input = pixel (0..255) x pixel_scale + pixel_offset, per channel."""
    pixel_offset: float = 0.0
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    """ImageNet mean and std, applied inside the graph to the scaled input (consumers must not apply them)."""
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    normalised_in_graph: bool = True
    resize: str = "bilinear"
    keep_aspect: bool = False
    """Resized to height x width directly, as training did (no letterbox)."""
    infrared_grey_weights: tuple[float, ...] = (0.299, 0.587, 0.114)
    """Infrared images become one grey plane by these R, G, B weights (PIL's "L", ITU-R 601-2 luma) ..."""
    infrared_channels: int = 3
    """... replicated to this many identical channels."""


@dataclass(frozen=True)
class InputSpec:
    """How to feed a branch: N x 3 x H x W float32 RGB in [0, 1]; normalisation happens inside the graph."""

    height: int
    width: int
    channels: int = 3
    layout: str = "NCHW"
    dtype: str = "float32"
    value_range: tuple[float, float] = (0.0, 1.0)
    color: str = "RGB"
    infrared: str = "grey (PIL 'L') replicated to 3 channels"
    resize: str = "PIL bilinear to height x width"
    normalisation: str = "inside the graph: ImageNet mean/std"
    name: str = INPUT_NAME
    preprocessing: Preprocessing = field(default_factory=Preprocessing)


@dataclass(frozen=True)
class OutputSpec:
    dim: int
    dtype: str = "float32"
    l2_normalised: bool = True
    name: str = OUTPUT_NAME


@dataclass(frozen=True)
class BatchRange:
    min: int
    opt: int
    max: int


@dataclass(frozen=True)
class KeptLayer:
    """A layer that stays in higher precision than the rest of its graph, and why."""

    layer: str
    """The model's name for it: a convolution's module path, or "<block> residual add"."""
    node: str
    """The ONNX node."""
    reason: str


@dataclass(frozen=True)
class LayerSensitivity:
    """What lowering one layer's precision alone costs the branch's output, on the calibration images."""

    layer: str
    node: str
    deficit_mean: float
    """1 - mean cosine to the reference when only this layer is in the lower precision."""
    deficit_min: float
    """1 - min cosine, same measurement."""


@dataclass(frozen=True)
class LayerRank:
    """int8: one layer's own quantisation error, from one run of the fully quantised graph with float twins, and
    what keeping it in float would cost; the search keeps the shortest prefix of these, best first."""

    layer: str
    node: str
    error_mean: float
    """Noise-to-signal power of the layer's output (int8 against float on the same inputs), mean over images."""
    error_max: float
    """The same on the image where it is largest."""
    cost: float
    """Share of the graph's multiply-adds that keeping it in float takes out of int8 (its own, or for a residual
    add the convolution fused into it)."""


@dataclass(frozen=True)
class CalibrationScore:
    """One int8 calibration method, measured with every layer quantised."""

    method: str
    cos_min: float
    cos_mean: float
    cos_p01: float | None = None
    """The 1st-percentile cosine: a method must hold on the tail, not only on average."""


@dataclass(frozen=True)
class PrecisionPlan:
    """How an fp16 or int8 graph was made: the search that chose what stays in higher precision."""

    kept: tuple[KeptLayer, ...] = ()
    kept_dtype: str = ""
    """The precision the kept layers compute in: "fp32" (fp16 graphs) or the base graph's (int8 graphs)."""
    candidates: int = 0
    """Layers the search could lower (fp16: convolutions; int8: weighted ops and residual adds)."""
    calibration: str = ""
    """int8: the calibration method chosen (e.g. "percentile 99.99"); empty for fp16."""
    calibration_scores: tuple[CalibrationScore, ...] = ()
    sensitivity: tuple[LayerSensitivity, ...] = ()
    """Per layer, most sensitive first; empty when the graph met its target without any layer kept."""
    target: Bar | None = None
    """What the search aimed at on the calibration images (the gate's bar, tightened by a margin)."""
    search_images: int = 0
    search_seconds: float = 0.0
    outcome: str = ""
    ranking: tuple[LayerRank, ...] = ()
    """int8: every candidate layer in the order the search considered keeping them."""
    screened_images: int = 0
    """int8: training images the fully quantised graphs were run on, to compare calibration methods on the worst
    of them and to find the images the pool must hold."""
    measurements: int = 0
    """int8: graphs built and run after the calibration methods' (the ranking run, each prefix tried, checks)."""
    weight_bits: int = 0
    """int8: 8, or 7 where the graph must run on CPUs without VNNI (their 16-bit sums saturate); 0 for fp16."""
    placement: str = ""
    """int8: where the Q/DQ nodes sit, and for the CPU flavour why this placement was chosen over the other."""


@dataclass(frozen=True)
class EngineRecord:
    """How a TensorRT plan was built. A plan runs only on the GPU architecture (compute capability) and
    TensorRT release that built it (`backends/tensorrt.check_engine_compatible`)."""

    gpu: str
    compute_capability: str
    tensorrt: str
    batch: BatchRange
    workspace_bytes: int
    build_seconds: float
    strongly_typed: bool = True
    tf32: bool = False
    """Whether float32 layers could use TF32 (fp16 / int8 plans; never fp32 ones)."""
    timing_cache: str = ""
    """The timing cache's file name, or "" when none was used."""
    driver: str = ""
    cuda_runtime: str = ""


@dataclass(frozen=True)
class Checkpoint:
    """The weights an export came from."""

    file: str
    sha256: str
    weights: str = "best"
    """"best" or "final": what was actually exported (`io.rundir.chosen_weights`)."""


@dataclass(frozen=True)
class Artifact:
    """One file of the export: an ONNX graph or a TensorRT plan for one modality and precision."""

    modality: str
    precision: str
    format: str  # "onnx" or "plan"
    file: str
    sha256: str
    bytes: int
    flavour: str = ""
    """int8 ONNX: "qdq-s8-symmetric" (what TensorRT consumes) or "qdq-u8s8" (faster on the CPU provider)."""
    backends: tuple[str, ...] = ()
    """The backends that run this file (from the runtime's backend registry, for readers; the runtime selects by
    format, precision and the backend's int8 flavour)."""
    parity: ParityFigures | None = None
    parity_source: str = ""
    """What the gate compared: reference, candidate backend and the images."""
    plan: PrecisionPlan | None = None
    engine: EngineRecord | None = None
    """TensorRT plans: how and where the plan was built; None for ONNX files."""


@dataclass(frozen=True)
class Manifest:
    input: InputSpec
    output: OutputSpec
    batch: BatchRange
    opset: int
    artifacts: tuple[Artifact, ...]
    model: dict[str, Any]
    checkpoint: Checkpoint
    data_root: str = ""
    data_trial: int = 1
    run_dir: str = ""
    tools: dict[str, str] = field(default_factory=dict)
    created: str = ""
    vireid_version: str = ""
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    def find(self, modality: str, precision: str, fmt: str, backend: str | None = None) -> Artifact | None:
        """The artifact of `modality` / `precision` / `fmt`; with `backend`, the one meant for that backend."""
        for artifact in self.artifacts:
            if (artifact.modality, artifact.precision, artifact.format) != (modality, precision, fmt):
                continue
            if backend is None or backend in artifact.backends:
                return artifact
        return None

    def precisions(self, fmt: str) -> list[str]:
        return [p for p in PRECISIONS if any(a.precision == p and a.format == fmt for a in self.artifacts)]


def manifest_from_dict(values: dict[str, Any]) -> Manifest:
    if not isinstance(values, dict) or values.get("format") not in READABLE_FORMATS:
        found = values.get("format") if isinstance(values, dict) else None
        readable = " or ".join(repr(f) for f in READABLE_FORMATS)
        raise ArtifactError(f"manifest format {found!r} is not {readable}; re-export with this vireid")
    values = {**values, "format": FORMAT}  # read as this format: what /3 to /5 added has defaults
    if not isinstance(values.get("artifacts"), list):
        raise ArtifactError("manifest: artifacts must be a list")
    values["artifacts"] = [  # up to /4 an ONNX file's engine record was {}
        {**a, "engine": a.get("engine") or None} if isinstance(a, dict) else a for a in values["artifacts"]
    ]
    manifest: Manifest = build(Manifest, values, "manifest", "manifest", "re-export with this vireid")
    return manifest


def read_manifest(art_dir: str | Path) -> Manifest:
    """Read and validate ART_DIR/manifest.json (ArtifactError with what to do when it is missing or broken)."""
    art_dir = Path(art_dir)
    if not art_dir.is_dir():
        raise ArtifactError(f"artifact directory {art_dir} does not exist; create it with `vireid export`")
    path = art_dir / MANIFEST_FILE
    if not path.is_file():
        raise ArtifactError(f"{art_dir} has no {MANIFEST_FILE}; it is not a finished `vireid export` output")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(f"{path} is unreadable or corrupt ({err}); re-run `vireid export`") from None
    return manifest_from_dict(values)
