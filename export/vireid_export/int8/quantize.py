"""`quantize_static` configured per flavour, on ranges computed once (`calibration.py`).

The base graph is prepared with ONNX shape inference only: ONNX Runtime's graph optimisations are skipped on
purpose, because they rewrite a graph for the CPU provider (fused nodes, inserted casts around fp16 kernels the
CPU lacks) and the TensorRT flavour must stay a portable graph that TensorRT parses.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import onnx

from vireid_export.int8.calibration import CalibrationMethod, quiet
from vireid_export.int8.flavours import Int8Flavour
from vireid_export.int8.graph_edit import dequantized_readers, with_float_nodes
from vireid_export.int8.placement import drop_fused_input_qdq, residual_adds


def prepare(base_onnx: Path, out: Path) -> None:
    """Shape-inferred copy of `base_onnx` marked as pre-processed, as `quantize_static` expects its input."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with quiet():
        quant_pre_process(os.fspath(base_onnx), os.fspath(out), skip_optimization=True, skip_symbolic_shape=True)


def quantize_graph(
    prepared: Path, flavour: Int8Flavour, method: CalibrationMethod, cache: Path, nodes: list[str]
) -> onnx.ModelProto:
    """The Q/DQ graph of `prepared` with `nodes` quantised, on the ranges in `cache` (written by `calibrate`)."""
    import onnxruntime.quantization as quantization

    with tempfile.TemporaryDirectory(prefix="vireid-int8-") as scratch, quiet():
        out = Path(scratch) / "quantized.onnx"
        quantization.quantize_static(
            os.fspath(prepared),
            os.fspath(out),
            None,
            quant_format=quantization.QuantFormat.QDQ,
            op_types_to_quantize=flavour.op_types,
            nodes_to_quantize=nodes,
            per_channel=True,
            reduce_range=flavour.weight_reduce_range(),
            activation_type=quantization.QuantType.QInt8
            if flavour.signed_activations
            else quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
            calibrate_method=getattr(quantization.CalibrationMethod, method.ort_method),
            calibration_cache_path=os.fspath(cache),
            extra_options=flavour.ort_extra_options(),
        )
        model = onnx.load(os.fspath(out))
    base = onnx.load(os.fspath(prepared))
    if flavour.quantize_residual_adds and not flavour.quantize_outputs:
        drop_fused_input_qdq(model, residual_adds(base.graph))
    if flavour.quantize_outputs:
        model = with_float_nodes(model, base, float_readers(model, nodes))
    return model


def float_readers(model: onnx.ModelProto, quantised: list[str]) -> set[str]:
    """Nodes that were not asked to be quantised but read a quantised output: the attention blocks and the
    head reading the trunk. They get the float value back: the int8 kernels gain nothing there, and the
    rounding would only add noise to the float islands."""
    return set(dequantized_readers(model)) - set(quantised)
