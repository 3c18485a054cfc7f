"""Activation ranges for int8, per calibration method, from ONNX Runtime's calibrators on training images.

The search (`search.py`) calibrates on every screened training image with "minmax" by default; given several
methods, it quantises the whole graph with each and keeps the one whose worst screened image stays closest to
the reference (docs/architecture.md, "int8"):
- "minmax": the observed range; no clipping, coarsest steps. The default: the layers the search keeps in float
  make up for the coarser steps, while a clipped range cannot be made up for on the unseen images that exceed it
  (on the demo ResNet-50, percentile 99.999 won on the fully quantised graph, then the infrared graph searched
  from it failed two evaluation images whose layer3 output went 2.3x past the range; see `search.py`);
- "percentile P": the range that holds P % of the absolute values (2048-bin histograms); clips rare outliers
  for finer steps, which helps tensors with long tails and hurts images whose activations are the tail;
- "entropy": the clipping threshold that minimises the KL divergence between the float and the int8
  histograms (TensorRT's classic calibrator), on 512 bins folded to 128 (ONNX Runtime's own default of 128
  bins for both leaves it no threshold to choose, so it would equal minmax). It is not among the methods
  tried by default (`DEFAULT_METHODS`): on the demo ResNet-50 infrared branch it took 230 s per graph (ONNX
  Runtime searches the thresholds in Python) and clipped so hard that the worst image's cosine fell to 0.09,
  against 0.94-0.96 for the others. `vireid export --calibration entropy,...` still tries it.
Images are fed batch by batch: the histogram calibrators merge per batch, so memory stays one batch deep.
The ranges are written to ONNX Runtime's calibration cache, which `quantize_static` then reads instead of
calibrating again, so one calibration serves every variant of a graph.

An fp16 graph is calibrated on its float32 twin: the same nodes and tensor names with every fp16 tensor made
float32. The histogram calibrators cannot bin fp16 arrays (numpy builds the bin edges in fp16 and runs out of
distinct values), and the ranges differ from the fp16 ones only by fp16 rounding, far below an int8 step.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from vireid_export.onnx_graph import tensor_types
from vireid_runtime.manifest import INPUT_NAME


@dataclass(frozen=True)
class CalibrationMethod:
    name: str
    ort_method: str
    """The member of onnxruntime.quantization.CalibrationMethod."""
    options: tuple[tuple[str, object], ...] = ()


METHODS = (
    CalibrationMethod("minmax", "MinMax"),
    CalibrationMethod("percentile 99.999", "Percentile", (("num_bins", 2048), ("percentile", 99.999))),
    CalibrationMethod("percentile 99.99", "Percentile", (("num_bins", 2048), ("percentile", 99.99))),
    CalibrationMethod("percentile 99.9", "Percentile", (("num_bins", 2048), ("percentile", 99.9))),
    CalibrationMethod("entropy", "Entropy", (("num_bins", 512), ("num_quantized_bins", 128))),
)
DEFAULT_METHODS = tuple(m for m in METHODS if m.name == "minmax")
"""minmax alone (see the module doc); comparing the four methods cost a full pass of each over the screened
images, a fifth of the demo ResNet-50's export, and picked the percentile that then failed the gate."""


def method_named(name: str) -> CalibrationMethod:
    for method in METHODS:
        if method.name == name:
            return method
    raise ValueError(f"unknown calibration method {name!r}; choose from {', '.join(m.name for m in METHODS)}")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """onnxruntime.quantization prints progress and logs advice on the root logger; the export reports itself."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


def _reader(batch: np.ndarray) -> object:
    from onnxruntime.quantization import CalibrationDataReader

    class OneBatch(CalibrationDataReader):
        def __init__(self) -> None:
            self.pending: list[dict[str, np.ndarray]] = [{INPUT_NAME: batch}]

        def get_next(self) -> dict[str, np.ndarray] | None:
            return self.pending.pop() if self.pending else None

    return OneBatch()


def float32_twin(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with every float16 initializer, Cast target and declared tensor type made float32."""
    twin = onnx.ModelProto()
    twin.CopyFrom(model)
    graph = twin.graph
    for index, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT16:
            values = numpy_helper.to_array(init).astype(np.float32)
            graph.initializer[index].CopyFrom(numpy_helper.from_array(values, init.name))
    for node in graph.node:
        for attribute in node.attribute:
            if node.op_type == "Cast" and attribute.name == "to" and attribute.i == TensorProto.FLOAT16:
                attribute.i = TensorProto.FLOAT
            if attribute.name == "value" and attribute.t.data_type == TensorProto.FLOAT16:
                values = numpy_helper.to_array(attribute.t).astype(np.float32)
                attribute.t.CopyFrom(numpy_helper.from_array(values, attribute.t.name))
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT16:
            value.type.tensor_type.elem_type = TensorProto.FLOAT
    return twin


def calibrate(
    model_path: Path,
    method: CalibrationMethod,
    batches: Sequence[np.ndarray],
    op_types: list[str],
    cache: Path,
    *,
    symmetric: bool,
) -> None:
    """Compute the ranges of every tensor around `op_types` in `model_path` and write them to `cache`.

    `symmetric` ranges (-t, t) suit signed activations; otherwise each side is cut on its own.
    """
    import onnxruntime.quantization as quantization
    from onnxruntime.quantization.calibrate import save_tensors_data

    with tempfile.TemporaryDirectory(prefix="vireid-calib-") as scratch, quiet():
        twin = Path(scratch) / "float32.onnx"
        onnx.save(float32_twin(onnx.load(os.fspath(model_path))), os.fspath(twin))
        calibrator = quantization.create_calibrator(
            twin,
            op_types,
            augmented_model_path=str(Path(scratch) / "augmented.onnx"),
            calibrate_method=getattr(quantization.CalibrationMethod, method.ort_method),
            extra_options={**dict(method.options), "symmetric": symmetric},
        )
        for batch in batches:
            calibrator.collect_data(_reader(batch))
        ranges = calibrator.compute_data()
        _match_dtypes(ranges, onnx.load(os.fspath(model_path)))
        save_tensors_data(ranges, cache)


def _match_dtypes(ranges: Any, model: onnx.ModelProto) -> None:
    """Give fp16 tensors fp16 ranges: the quantiser types each scale like its range, and Q/DQ like its input."""
    from onnxruntime.quantization.calibrate import TensorData

    types = tensor_types(model)
    for name in list(ranges):
        if types.get(name) != TensorProto.FLOAT16:
            continue
        data = ranges[name]
        lowest, highest = data.range_value
        ranges[name] = TensorData(lowest=np.asarray(lowest, np.float16), highest=np.asarray(highest, np.float16))
