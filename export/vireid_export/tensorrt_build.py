"""Build a TensorRT engine (plan) from an exported ONNX branch, on the GPU that will run it.

See docs/architecture.md, "TensorRT".

Why it is built this way:
- Precision lives in the ONNX: the fp32 graph, the fp16 graph (with GeM, the attention gates and the final
  normalisation kept in fp32) and the int8 Q/DQ graph. The network is created STRONGLY TYPED, so TensorRT takes
  every tensor's type from the graph and never picks precisions on its own. TensorRT 11 removed the FP16/INT8
  builder flags and the calibrators and builds every network strongly typed (it still accepts the flag), so this
  one code path serves TensorRT 10 and 11.
- One optimisation profile spans the manifest's batch range with C x H x W fixed; the runtime splits larger
  batches.
- A persistent timing cache: timing tactics is most of a build, and the cache carries them to the other branch
  (same trunk shapes), the other precisions and later rebuilds. TensorRT rejects a cache written on another GPU
  or TensorRT version; such a cache is ignored (with a log line) and replaced by the new one.
- Nothing partial is ever written: the plan and the updated cache are written atomically, so a failed or killed
  build leaves no plan and either the old or the new complete cache.
- Only TensorRT 10 APIs: the workspace is a memory-pool limit and the plan comes from `build_serialized_network`
  (no `build_engine`, no `max_workspace_size`).
- TF32 is off for fp32 plans. TensorRT enables it by default, and its 10-bit-mantissa products can by
  themselves move an fp32 engine below the fp32 gate (cosine >= 0.99999 against float32 torch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vireid.errors import VireidError
from vireid.io.atomic import atomic_path, atomic_write_bytes
from vireid_runtime.manifest import BatchRange, EngineRecord

if TYPE_CHECKING:
    import tensorrt as trt

TRT_MISSING = "TensorRT is not installed: pip install 'vireid[trt]' (needs an NVIDIA GPU)"
ON_THE_GPU = "TensorRT engines are built on the GPU they will run on; run `vireid export --engine trt` there"
MAX_PARSER_ERRORS = 3


def _import_tensorrt() -> Any:
    try:
        import tensorrt
    except ImportError:
        raise VireidError(TRT_MISSING) from None
    return tensorrt


def _gpu() -> dict[str, str]:
    """The current GPU through cuda-python (what the runtime uses), else through torch; VireidError if none."""
    from vireid_runtime.cuda import NoUsableGpu, import_cudart, query_gpu

    try:
        cudart = import_cudart()
    except ImportError:
        cudart = None
    if cudart is not None:
        try:
            return query_gpu(cudart)
        except NoUsableGpu as err:
            raise VireidError(f"{err}; {ON_THE_GPU}") from None
    import torch

    if not torch.cuda.is_available():
        raise VireidError(f"torch finds no CUDA GPU (and cuda-python is not installed); {ON_THE_GPU}")
    index = torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(index)
    return {
        "gpu": torch.cuda.get_device_name(index),
        "compute_capability": f"{major}.{minor}",
        "driver": "",
        "cuda_runtime": torch.version.cuda or "",
    }


def tensorrt_environment() -> dict[str, str]:
    """TensorRT version and the GPU an engine would be built for; VireidError without TensorRT or a GPU.

    Keys: tensorrt, gpu, compute_capability ("9.0"), driver (the CUDA version the driver supports; empty when
    only torch could be asked), cuda_runtime.
    """
    trt_module = _import_tensorrt()
    gpu = _gpu()
    return {"tensorrt": str(trt_module.__version__), **gpu}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _make_logger(log: Callable[[str], None] | None) -> tuple[trt.ILogger, list[str]]:
    """A TensorRT logger that forwards warnings and errors to `log` and keeps the errors for our own message."""
    import tensorrt as trt

    errors: list[str] = []
    emit = log or (lambda message: None)

    class ForwardingLogger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
            if severity in (trt.ILogger.INTERNAL_ERROR, trt.ILogger.ERROR):
                errors.append(_one_line(msg))
                emit(f"TensorRT error: {msg}")
            elif severity == trt.ILogger.WARNING:
                emit(f"TensorRT warning: {msg}")

    return ForwardingLogger(), errors


def _attach_timing_cache(
    config: trt.IBuilderConfig, path: Path | None, emit: Callable[[str], None]
) -> trt.ITimingCache:
    """Load the cache at `path` (if any) into `config`; a cache TensorRT rejects is replaced by an empty one.

    The returned cache must stay alive until the build has finished.
    """
    data = path.read_bytes() if path is not None and path.is_file() else b""
    if data:
        try:
            cache = config.create_timing_cache(data)
            if cache is not None and config.set_timing_cache(cache, ignore_mismatch=False):
                return cache
        except Exception as err:  # a truncated or foreign file: TensorRT's pybind errors have no common type
            emit(f"timing cache {path}: {_one_line(str(err))}")
        emit(f"ignoring timing cache {path}: written by another GPU or TensorRT version, or damaged")
    cache = config.create_timing_cache(b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    return cache


def _check_input(network: trt.INetworkDefinition, name: str, chw: tuple[int, int, int], onnx_path: Path) -> None:
    shapes: dict[str, tuple[int, ...]] = {}
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        shapes[tensor.name] = tuple(tensor.shape[i] for i in range(len(tensor.shape)))
    if name not in shapes:
        raise VireidError(f"{onnx_path} has no input named {name!r} (its inputs: {', '.join(shapes) or 'none'})")
    shape = shapes[name]
    if len(shape) != 4 or shape[1:] != chw or shape[0] != -1:
        raise VireidError(
            f"{onnx_path}: input {name!r} has shape {shape}; expected a dynamic batch x {chw[0]} x {chw[1]} x {chw[2]}"
        )


def builder_config(trt_module: Any, builder: trt.Builder, *, workspace_bytes: int, allow_tf32: bool) -> Any:
    """The builder config every plan starts from: the workspace limit, and TF32 cleared unless allowed."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt_module.MemoryPoolType.WORKSPACE, workspace_bytes)
    if not allow_tf32:
        config.clear_flag(trt_module.BuilderFlag.TF32)
    return config


def build_engine(
    onnx_path: Path,
    plan_path: Path,
    *,
    input_name: str,
    channels: int,
    height: int,
    width: int,
    batch_min: int,
    batch_opt: int,
    batch_max: int,
    workspace_bytes: int = 4 << 30,
    timing_cache_path: Path | None = None,
    allow_tf32: bool = False,
    log: Callable[[str], None] | None = None,
) -> EngineRecord:
    """Build a strongly typed TensorRT plan from `onnx_path` and write it atomically to `plan_path`.

    `allow_tf32` keeps TensorRT's default TF32 for float32 layers; off (the default), they compute in full
    float32, as fp32 plans must. Returns the engine record for the manifest (`Artifact.engine`).
    """
    environment = tensorrt_environment()  # VireidError, before anything is written, without TensorRT or a GPU
    import tensorrt as trt

    if not 1 <= batch_min <= batch_opt <= batch_max:
        raise VireidError(f"batch range must satisfy 1 <= min <= opt <= max, got {batch_min}/{batch_opt}/{batch_max}")
    if not onnx_path.is_file():
        raise VireidError(f"{onnx_path} does not exist; export the ONNX graph first")
    emit = log or (lambda message: None)
    logger, errors = _make_logger(log)

    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        found = [_one_line(str(parser.get_error(i))) for i in range(min(parser.num_errors, MAX_PARSER_ERRORS))]
        raise VireidError(f"TensorRT cannot parse {onnx_path}: {'; '.join(found or errors) or 'no parser detail'}")
    chw = (channels, height, width)
    _check_input(network, input_name, chw, onnx_path)

    config = builder_config(trt, builder, workspace_bytes=workspace_bytes, allow_tf32=allow_tf32)
    profile = builder.create_optimization_profile()
    profile.set_shape(input_name, trt.Dims([batch_min, *chw]), trt.Dims([batch_opt, *chw]), trt.Dims([batch_max, *chw]))
    if config.add_optimization_profile(profile) < 0:
        raise VireidError(f"TensorRT rejected the batch profile {batch_min}/{batch_opt}/{batch_max} for {onnx_path}")
    cache = _attach_timing_cache(config, timing_cache_path, emit)

    started = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    build_seconds = time.perf_counter() - started
    if serialized is None:
        detail = "; ".join(errors[-MAX_PARSER_ERRORS:]) or "no detail from TensorRT"
        raise VireidError(f"TensorRT could not build an engine from {onnx_path}: {detail}")
    if timing_cache_path is not None:
        atomic_write_bytes(timing_cache_path, bytes(config.get_timing_cache().serialize()))
    del cache  # kept alive until here: TensorRT reads it during the build
    with atomic_path(plan_path) as tmp:
        tmp.write_bytes(serialized)
    return EngineRecord(
        gpu=environment["gpu"],
        compute_capability=environment["compute_capability"],
        tensorrt=environment["tensorrt"],
        batch=BatchRange(batch_min, batch_opt, batch_max),
        workspace_bytes=workspace_bytes,
        build_seconds=round(build_seconds, 3),
        strongly_typed=True,
        tf32=allow_tf32,
        timing_cache=timing_cache_path.name if timing_cache_path is not None else "",
        driver=environment["driver"],
        cuda_runtime=environment["cuda_runtime"],
    )
