"""The `ReID:` section of a DeepStream Gst-nvtracker low-level config (NvDCF / NvDeepSORT), from the manifest.

A pure function of the manifest: every value comes from the export's contract (docs/architecture.md,
"Deployment"), checked against NVIDIA's Gst-nvtracker documentation and its sample tracker configs
(config_tracker_NvDCF_accuracy.yml, config_tracker_NvDeepSORT.yml):
- `onnxFile`, and `modelEngineFile` too when a TensorRT plan of that branch and precision exists: DeepStream
  uses the plan (built strongly typed by `vireid export --engine trt`, exactly the gated graph) and rebuilds
  from the ONNX graph only where the plan does not load (another GPU or TensorRT release). Its own build sets
  TensorRT's precision flag from networkMode, so it may run the layers the export kept in fp32 at the lower
  precision: the plan is the faithful path, and the comment in the file says so.
- `networkMode` follows the artifact's precision in the tracker's convention, fp32 = 0, fp16 = 1, int8 = 2
  (the tracker's ReID config differs from Gst-nvinfer's network-mode, where int8 = 1 and fp16 = 2).
- The tracker feeds y = netScaleFactor x (x - offsets) with x the 0..255 pixel; the graph takes RGB in [0, 1]
  and normalises inside, so netScaleFactor = the manifest's pixel scale (1/255), offsets = 0, RGB, NCHW, no
  aspect-ratio padding (training resized directly), and `addFeatureNormalization: 0` because the graph
  already L2-normalises.
"""

from __future__ import annotations

from dataclasses import dataclass

from vireid.errors import VireidError
from vireid_runtime.errors import ArtifactError
from vireid_runtime.load import select_artifact
from vireid_runtime.manifest import MODALITIES, Artifact, Manifest

NETWORK_MODE = {"fp32": 0, "fp16": 1, "int8": 2}
REID_TYPES = {0: "dummy (no ReID)", 1: "NvDeepSORT", 2: "re-association (NvDCF)", 3: "both"}
COLOR_RGB, ORDER_NCHW = 0, 0


@dataclass(frozen=True)
class ReidSection:
    """The chosen model file(s) and the YAML text of the `ReID:` section."""

    artifact: Artifact
    """What the tracker runs: the plan when there is one, else the ONNX graph."""
    files: tuple[Artifact, ...]
    """Every file the section names (a plan's ONNX source too, for a rebuild on another GPU)."""
    fields: dict[str, object]
    text: str


def _graph(manifest: Manifest, branch: str, precision: str) -> Artifact:
    try:  # the graph TensorRT consumes, as the runtime's backend registry selects it for TensorRT
        return select_artifact(manifest, branch, "ort-trt", precision)
    except ArtifactError as err:
        raise VireidError(str(err)) from None


def reid_section(
    manifest: Manifest, branch: str, *, precision: str = "fp32", reid_type: int = 2, batch_size: int | None = None
) -> ReidSection:
    if branch not in MODALITIES:
        raise VireidError(f"--branch must be visible or infrared, got {branch!r}")
    if reid_type not in REID_TYPES:
        raise VireidError(f"--reid-type must be one of {', '.join(f'{k} ({v})' for k, v in REID_TYPES.items())}")
    if precision not in NETWORK_MODE:
        raise VireidError(f"--precision must be fp32, fp16 or int8, got {precision!r}")
    batch = manifest.batch
    size = batch.opt if batch_size is None else batch_size
    if not batch.min <= size <= batch.max:
        raise VireidError(f"--batch-size {size} is outside the export's batch range {batch.min}..{batch.max}")
    graph = _graph(manifest, branch, precision)
    plan = manifest.find(branch, precision, "plan")
    artifact = plan or graph
    spec, pre = manifest.input, manifest.input.preprocessing
    if pre.color_order != "RGB" or not pre.normalised_in_graph or pre.keep_aspect:
        raise VireidError("this export's preprocessing cannot be expressed in a tracker ReID config")
    fields: dict[str, object] = {
        "reidType": reid_type,
        "batchSize": size,
        "workspaceSize": 1000,
        "reidFeatureSize": manifest.output.dim,
        "reidHistorySize": 100,
        "inferDims": [spec.channels, spec.height, spec.width],
        "networkMode": NETWORK_MODE[artifact.precision],
        "inputOrder": ORDER_NCHW,
        "colorFormat": COLOR_RGB,
        "offsets": [pre.pixel_offset] * spec.channels,
        "netScaleFactor": pre.pixel_scale,
        "keepAspc": int(pre.keep_aspect),
        "addFeatureNormalization": 0 if manifest.output.l2_normalised else 1,
    }
    fields["onnxFile"] = graph.file
    if plan is not None:  # used as is; DeepStream rebuilds from onnxFile only where the plan does not load
        fields["modelEngineFile"] = plan.file
    files = (graph, plan) if plan is not None else (graph,)
    return ReidSection(artifact, files, fields, _yaml(fields, branch, artifact, reid_type))


def _value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _yaml(fields: dict[str, object], branch: str, artifact: Artifact, reid_type: int) -> str:
    camera, other = ("a visible (RGB)", "an infrared") if branch == "visible" else ("an infrared", "a visible (RGB)")
    other_branch = "infrared" if branch == "visible" else "visible"
    lines = [
        "%YAML:1.0",
        "# ReID section for Gst-nvtracker (NvDCF / NvDeepSORT), written by `vireid deploy deepstream`.",
        f"# The {branch} branch of a visible-infrared ReID model: use it in the pipeline of {camera} camera;",
        f"# the pipeline of {other} camera takes the {other_branch} branch's config. Both branches embed into",
        "# one space, so features from either camera kind compare by cosine similarity.",
        f"# reidType {reid_type}: {REID_TYPES[reid_type]}. Merge this section into your tracker config",
        "# (ll-config-file); for re-association also set TrajectoryManagement.enableReAssoc and",
        "# reidExtractionInterval.",
        f"# Model: {artifact.file} ({artifact.precision}), relative to this file as DeepStream 9.2 resolves it;",
        "# releases that resolve paths against the working directory need an absolute path here.",
    ]
    if branch == "infrared":
        lines.append("# Infrared frames must reach the tracker as grey replicated to 3 channels (R = G = B).")
    if artifact.format != "plan" and artifact.precision != "fp32":
        lines.append(
            "# DeepStream builds this graph with TensorRT's precision flag from networkMode, which may lower the"
        )
        lines.append("# layers the export kept in fp32; a plan from `vireid export --engine trt` keeps them.")
    lines.append("ReID:")
    lines += [f"  {key}: {_value(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"
