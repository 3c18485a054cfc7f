"""Triton model configs (`config.pbtxt`) from the manifest: pure functions, one model per branch and artifact.

Built as `inference.ModelConfig` messages (tritonclient's `model_config_pb2`, Triton's own schema) and printed
in protobuf text format, so a config cannot name a field or an enum value Triton does not have. What each
field is, and why (docs/architecture.md, "Deployment"):
- ONNX graphs run on Triton's onnxruntime backend (`platform: "onnxruntime_onnx"`), the int8 model from the
  int8 graph of the instance kind's flavour (u8s8 for CPU instances, symmetric s8 for GPU ones), as the
  runtime's backend registry selects it. Optionally on GPU through the TensorRT execution accelerator,
  with `precision_mode: FP32` whatever the graph: the precision lives in the graph, and TensorRT builds it
  strongly typed only with its precision flags off.
- Plans run on the tensorrt backend (`platform: "tensorrt_plan"`), on GPU instances only; a plan is tied to
  the GPU model and TensorRT release that built it, which the config's header comment names.
- The OpenVINO backend (`backend: "openvino"` plus `default_model_filename: "model.onnx"`: without them Triton
  hands an ONNX file to onnxruntime) runs the fp32 and u8s8 int8 graphs on CPU instances, latency hint.
- `max_batch_size` is the export's batch profile maximum; input / output dims leave the batch out;
  `dynamic_batching` prefers the profile's batch sizes above 1 with a small queue delay; `model_warmup` runs
  one batch of zeros at the profile's optimum before the model is reported ready.
- The names, dims and batching are `vireid_runtime.triton_models`', which `vireid-triton-host` and the `triton`
  backend read too: the same client works against this repository and against the host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vireid.errors import VireidError
from vireid_runtime.errors import ArtifactError
from vireid_runtime.load import select_artifact
from vireid_runtime.manifest import MODALITIES, Artifact, Manifest
from vireid_runtime.triton_models import model_name, model_shape, preferred_batch_sizes

KINDS = ("cpu", "gpu")
ONNX_FILE, PLAN_FILE = "model.onnx", "model.plan"
VERSION = "1"
TENSORRT_WORKSPACE = 4 << 30


@dataclass(frozen=True)
class TritonOptions:
    kind: str = "gpu"
    """Instance kind of the ONNX Runtime models: cpu or gpu (plans are GPU only, OpenVINO CPU only)."""
    count: int = 1
    """Instances per model."""
    queue_delay_us: int = 100
    """Dynamic batching's longest wait for a fuller batch, in microseconds."""
    tensorrt_accelerator: bool = False
    """GPU ONNX models through ONNX Runtime's TensorRT execution accelerator."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise VireidError(f"--kind must be cpu or gpu, got {self.kind!r}")
        if self.count < 1 or self.queue_delay_us < 0:
            raise VireidError("--count must be >= 1 and --queue-delay-us >= 0")
        if self.tensorrt_accelerator and self.kind != "gpu":
            raise VireidError("--tensorrt-accelerator needs --kind gpu (it is a GPU execution accelerator)")


@dataclass(frozen=True)
class TritonModel:
    """One model of the repository: its folder name, the artifact it serves, and its config."""

    name: str
    artifact: Artifact
    filename: str
    """The file in the version folder: model.onnx or model.plan."""
    config: Any
    """An `inference.ModelConfig` message."""
    note: str


def _pb() -> Any:
    import tritonclient.grpc.model_config_pb2 as pb

    return pb


def _base(manifest: Manifest, name: str, kind: str, options: TritonOptions) -> Any:
    pb = _pb()
    spec, batch, shape = manifest.input, manifest.batch, model_shape(manifest)
    config = pb.ModelConfig(name=name, max_batch_size=shape.max_batch_size)
    config.input.add(name=shape.input_name, data_type=pb.TYPE_FP32, dims=list(shape.input_dims))
    config.output.add(name=shape.output_name, data_type=pb.TYPE_FP32, dims=list(shape.output_dims))
    config.dynamic_batching.preferred_batch_size.extend(preferred_batch_sizes(batch))
    config.dynamic_batching.max_queue_delay_microseconds = options.queue_delay_us
    group = pb.ModelInstanceGroup.KIND_GPU if kind == "gpu" else pb.ModelInstanceGroup.KIND_CPU
    config.instance_group.add(kind=group, count=options.count)
    warmup = config.model_warmup.add(name="zeros", batch_size=batch.opt)
    value = warmup.inputs[spec.name]
    value.data_type = pb.TYPE_FP32
    value.dims.extend([spec.channels, spec.height, spec.width])
    value.zero_data = True
    return config


def _tensorrt_accelerator(config: Any, manifest: Manifest) -> None:
    spec, batch = manifest.input, manifest.batch
    shape = f"{spec.channels}x{spec.height}x{spec.width}"
    accelerator = config.optimization.execution_accelerators.gpu_execution_accelerator.add(name="tensorrt")
    accelerator.parameters["precision_mode"] = "FP32"  # the graph carries its precision (module docstring)
    accelerator.parameters["max_workspace_size_bytes"] = str(TENSORRT_WORKSPACE)
    accelerator.parameters["trt_engine_cache_enable"] = "1"
    for key, size in (("min", batch.min), ("opt", batch.opt), ("max", batch.max)):
        accelerator.parameters[f"trt_profile_{key}_shapes"] = f"{spec.name}:{size}x{shape}"


def onnxruntime_model(manifest: Manifest, modality: str, precision: str, options: TritonOptions) -> TritonModel:
    backend = "ort-cuda" if options.kind == "gpu" else "ort-cpu"
    artifact = select_artifact(manifest, modality, backend, precision)
    config = _base(manifest, model_name(modality, precision), options.kind, options)
    config.platform = "onnxruntime_onnx"
    note = f"{artifact.file} on Triton's onnxruntime backend, {options.kind.upper()} instances"
    if precision == "fp16" and options.kind == "cpu":
        note += " (fp16 compute is for GPUs: the CPU runs this graph slower than fp32)"
    if options.tensorrt_accelerator:
        _tensorrt_accelerator(config, manifest)
        note += ", through the TensorRT execution accelerator (precision from the graph)"
    return TritonModel(config.name, artifact, ONNX_FILE, config, note)


def tensorrt_model(manifest: Manifest, artifact: Artifact, options: TritonOptions) -> TritonModel:
    config = _base(manifest, f"{model_name(artifact.modality, artifact.precision)}-trt", "gpu", options)
    config.platform = "tensorrt_plan"
    engine = artifact.engine
    built = f"{engine.gpu} (sm {engine.compute_capability}), TensorRT {engine.tensorrt}" if engine else "unrecorded"
    note = (
        f"{artifact.file} on Triton's tensorrt backend. A plan runs only on the GPU architecture and TensorRT "
        f"release that built it: {built}; rebuild it on the serving GPU with `vireid export --engine trt`"
    )
    return TritonModel(config.name, artifact, PLAN_FILE, config, note)


def openvino_model(manifest: Manifest, modality: str, precision: str, options: TritonOptions) -> TritonModel:
    artifact = select_artifact(manifest, modality, "openvino", precision)
    config = _base(manifest, f"{model_name(modality, precision)}-openvino", "cpu", options)
    config.backend = "openvino"
    config.default_model_filename = ONNX_FILE  # else Triton gives model.onnx to onnxruntime
    config.parameters["PERFORMANCE_HINT"].string_value = "LATENCY"
    note = (
        f"{artifact.file} on Triton's openvino backend, CPU instances. On CPUs with AMX OpenVINO computes in "
        "bf16 by default and this backend has no key to force f32; vireid's own openvino backend forces it"
    )
    return TritonModel(config.name, artifact, ONNX_FILE, config, note)


def repository_models(manifest: Manifest, options: TritonOptions) -> tuple[list[TritonModel], list[str]]:
    """Every model the export can serve with these options, and what was left out and why."""
    models: list[TritonModel] = []
    left_out: list[str] = []
    onnx_precisions = manifest.precisions("onnx")

    def add(make: Callable[..., TritonModel], modality: str, precision: str, server_backend: str) -> None:
        try:
            models.append(make(manifest, modality, precision, options))
        except ArtifactError as error:  # an int8 export for the other target only (`--int8-targets`)
            left_out.append(f"{modality} {precision} on {server_backend}: {error}")

    for modality in MODALITIES:
        for precision in onnx_precisions:
            add(onnxruntime_model, modality, precision, "onnxruntime")
        for artifact in manifest.artifacts:
            if artifact.modality != modality or artifact.format != "plan":
                continue
            if options.kind == "gpu":
                models.append(tensorrt_model(manifest, artifact, options))
            else:
                left_out.append(f"{artifact.file}: a TensorRT plan needs GPU instances (--kind gpu)")
        for precision in ("fp32", "int8"):
            if precision in onnx_precisions:
                add(openvino_model, modality, precision, "openvino")
    return models, left_out


def config_text(model: TritonModel, source: str) -> str:
    """The config.pbtxt of `model`: a header comment (where it came from, what it runs) and the message."""
    from google.protobuf import text_format

    header = f"# written by `vireid deploy triton` from {source}\n# {model.note}\n"
    return header + text_format.MessageToString(model.config)
