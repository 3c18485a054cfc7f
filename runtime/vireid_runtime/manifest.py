"""manifest.json: the contract between `vireid export` (writer) and the runtime / bench (readers).

One schema, defined here because the torch-free runtime must read it; the exporter builds these dataclasses and
writes them. It records how to feed the graphs (input spec, preprocessing), what they return, which files exist
for which modality / precision / backend, the checkpoint they came from, the tools and GPU that built them, and
the parity figures measured at export time (DESIGN.md section 7).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vireid_runtime.errors import ArtifactError

MANIFEST_FILE = "manifest.json"
FORMAT = "vireid-artifacts/1"
MODALITIES = ("visible", "infrared")
PRECISIONS = ("fp32", "fp16", "int8")
INPUT_NAME = "images"
OUTPUT_NAME = "embedding"


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
    parity: dict[str, Any] = field(default_factory=dict)
    engine: dict[str, Any] = field(default_factory=dict)
    """TensorRT plans: gpu, compute_capability, tensorrt version, batch profile, build seconds."""


@dataclass(frozen=True)
class Manifest:
    input: InputSpec
    output: OutputSpec
    batch: BatchRange
    opset: int
    artifacts: tuple[Artifact, ...]
    model: dict[str, Any]
    checkpoint: dict[str, Any]
    data_root: str = ""
    run_dir: str = ""
    tools: dict[str, str] = field(default_factory=dict)
    parity_thresholds: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    vireid_version: str = ""
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    def find(self, modality: str, precision: str, fmt: str, flavour: str | None = None) -> Artifact | None:
        for artifact in self.artifacts:
            if (artifact.modality, artifact.precision, artifact.format) == (modality, precision, fmt) and (
                flavour is None or artifact.flavour == flavour
            ):
                return artifact
        return None

    def precisions(self, fmt: str) -> list[str]:
        return [p for p in PRECISIONS if any(a.precision == p and a.format == fmt for a in self.artifacts)]


def _build(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ArtifactError(f"manifest: {where} must be an object")
    try:
        if cls is InputSpec and "value_range" in values:
            values = {**values, "value_range": tuple(values["value_range"])}
        return cls(**values)
    except TypeError as err:
        raise ArtifactError(f"manifest: {where} is malformed ({err})") from None


def manifest_from_dict(values: dict[str, Any]) -> Manifest:
    if values.get("format") != FORMAT:
        raise ArtifactError(f"manifest format {values.get('format')!r} is not {FORMAT!r}; re-export with this vireid")
    artifacts = values.get("artifacts")
    if not isinstance(artifacts, list):
        raise ArtifactError("manifest: artifacts must be a list")
    rest = {k: v for k, v in values.items() if k not in ("input", "output", "batch", "artifacts")}
    try:
        return Manifest(
            input=_build(InputSpec, values.get("input"), "input"),
            output=_build(OutputSpec, values.get("output"), "output"),
            batch=_build(BatchRange, values.get("batch"), "batch"),
            artifacts=tuple(_build(Artifact, a, f"artifacts[{i}]") for i, a in enumerate(artifacts)),
            **rest,
        )
    except TypeError as err:
        raise ArtifactError(f"manifest is malformed ({err})") from None


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
