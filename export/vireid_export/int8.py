"""int8 ONNX: QDQ graphs from `onnxruntime.quantization.quantize_static`, calibrated on dataset images.

Two flavours, named apart (DESIGN.md section 7):
- "qdq-s8-symmetric" (`*.int8.onnx`): signed int8 activations and weights, both symmetric (zero point 0),
  per-channel weights. TensorRT accepts only symmetric int8, so this is what `--engine trt` builds from.
- "qdq-u8s8" (`*.int8-cpu.onnx`): unsigned asymmetric activations, signed per-channel weights: the form the
  CPU provider's integer kernels are fastest with.

Pre-processing: `quant_pre_process` runs ONNX shape inference and ONNX Runtime's graph optimisations before
quantisation. Its symbolic shape inference is skipped: it does not understand opset-18 reductions whose
axes are an input (what the dynamo exporter emits for ReduceMax) and fails, while plain ONNX shape inference
already resolves every shape because only the batch axis is dynamic.

The stem convolution stays in float. On the demo model it is the layer whose int8 error reaches the
embedding most: quantising it too drops the infrared branch's worst-case cosine to fp32 from 0.993 to 0.898
(minmax, 48 calibration images), while it holds about 3 % of the branch's multiply-adds. Keeping the first
layer in higher precision is the usual int8 practice, and TensorRT then runs it in fp32 as the graph says.
Deeper networks can need more than that (a resnet50 trained from scratch lost accuracy in every stage of its
infrared branch); the parity gate is what catches it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx

from vireid.errors import VireidError
from vireid.io.atomic import atomic_path
from vireid_runtime.manifest import INPUT_NAME

FLAVOURS = {
    "qdq-s8-symmetric": "int8.onnx",
    "qdq-u8s8": "int8-cpu.onnx",
}
QUANTIZED_OPS = ["Conv", "Gemm", "MatMul"]
"""Only the matrix ops: quantising the attention gates' Mul/Add and the GeM Pow would cost accuracy for no
speed (they are a tiny share of the work)."""


def _calibration_reader(batches: Sequence[np.ndarray]) -> object:
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches: Iterator[np.ndarray] = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    return Reader()


def stem_convolution(model: onnx.ModelProto) -> list[str]:
    """The name of the first Conv node (ONNX graphs are topologically sorted, so it is the stem's)."""
    return [node.name for node in model.graph.node if node.op_type == "Conv"][:1]


def quantize(fp32_onnx: Path, out: Path, flavour: str, calibration: Sequence[np.ndarray]) -> None:
    """Write the QDQ int8 graph of `fp32_onnx` to `out` (atomically), calibrated on `calibration` batches."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if flavour not in FLAVOURS:
        raise ValueError(f"unknown int8 flavour {flavour!r}")
    if not calibration:
        raise VireidError("int8 needs calibration images; give --calib-data or a run whose dataset still exists")
    symmetric = flavour == "qdq-s8-symmetric"
    quiet = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="vireid-int8-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        with contextlib.redirect_stdout(quiet), _quiet_logging():
            quant_pre_process(os.fspath(fp32_onnx), os.fspath(prepared), skip_symbolic_shape=True)
            with atomic_path(out) as tmp:
                quantize_static(
                    os.fspath(prepared),
                    os.fspath(tmp),
                    _calibration_reader(calibration),
                    quant_format=QuantFormat.QDQ,
                    op_types_to_quantize=QUANTIZED_OPS,
                    nodes_to_exclude=stem_convolution(onnx.load(os.fspath(prepared))),
                    per_channel=True,
                    activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True},
                )


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """onnxruntime.quantization logs advice on the root logger; the CLI reports what matters itself."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
