"""The TensorRT acceptability check refuses what TensorRT's ONNX parser refuses, naming the node, and passes the
int8 graph the export writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from vireid_export.tensorrt_check import NotForTensorRT, check_for_tensorrt


def _qdq_conv(
    *, bias_quantized: bool = False, zero_point: int = 0, activation_scale: list[float] | None = None
) -> onnx.ModelProto:
    """x -> Q -> DQ -> Conv(DQ(int8 weight), bias) -> y, the way ONNX Runtime writes a quantised convolution."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8), "w_q")
    initializers = [
        weight,
        numpy_helper.from_array(np.full(4, 0.01, np.float32), "w_scale"),
        numpy_helper.from_array(np.zeros(4, np.int8), "w_zero"),
        numpy_helper.from_array(np.array(activation_scale or 0.02, np.float32), "x_scale"),
        numpy_helper.from_array(np.array(zero_point, np.int8), "x_zero"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero"], ["x_q"], name="x_quantize"),
        helper.make_node("DequantizeLinear", ["x_q", "x_scale", "x_zero"], ["x_dq"], name="x_dequantize"),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w_dq"], name="w_dequantize", axis=0),
    ]
    if bias_quantized:  # ONNX Runtime's default QuantizeBias: int32 bias behind a DequantizeLinear
        initializers += [
            numpy_helper.from_array(np.arange(4, dtype=np.int32), "b_q"),
            numpy_helper.from_array(np.full(4, 0.0002, np.float32), "b_scale"),
            numpy_helper.from_array(np.zeros(4, np.int32), "b_zero"),
        ]
        nodes.append(helper.make_node("DequantizeLinear", ["b_q", "b_scale", "b_zero"], ["b"], name="bias_dq", axis=0))
    else:
        initializers.append(numpy_helper.from_array(np.zeros(4, np.float32), "b"))
    nodes.append(helper.make_node("Conv", ["x_dq", "w_dq", "b"], ["y"], name="conv", pads=[1, 1, 1, 1]))
    graph = helper.make_graph(
        nodes,
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


def test_a_symmetric_graph_with_float_biases_passes() -> None:
    check_for_tensorrt(_qdq_conv())


def test_int32_bias_behind_dequantize_is_refused_naming_the_node() -> None:
    with pytest.raises(NotForTensorRT, match=r"node 'bias_dq' \(DequantizeLinear\) reads INT32") as info:
        check_for_tensorrt(_qdq_conv(bias_quantized=True), "conv.int8.onnx")
    message = str(info.value)
    assert message.startswith("conv.int8.onnx is not a graph TensorRT accepts") and "\n" not in message


def test_non_zero_zero_point_is_refused() -> None:
    with pytest.raises(NotForTensorRT, match=r"'x_quantize'.*non-zero zero point"):
        check_for_tensorrt(_qdq_conv(zero_point=3))


def test_per_channel_activation_scales_unsupported_ops_and_opsets_are_refused() -> None:
    with pytest.raises(NotForTensorRT, match="per-tensor activations"):
        check_for_tensorrt(_qdq_conv(activation_scale=[0.1, 0.2, 0.3]))
    unsupported = _qdq_conv()
    unsupported.graph.node.append(helper.make_node("Unique", ["y"], ["u"], name="unique"))
    with pytest.raises(NotForTensorRT, match=r"'unique' .* not an operator TensorRT"):
        check_for_tensorrt(unsupported)
    too_new = _qdq_conv()
    too_new.opset_import[0].version = 23
    with pytest.raises(NotForTensorRT, match="opset 23"):
        check_for_tensorrt(too_new)


def test_reduce_axes_computed_at_run_time_are_refused() -> None:
    model = _qdq_conv()
    model.graph.node.extend(
        [
            helper.make_node("Shape", ["y"], ["shape"], name="shape"),
            helper.make_node("ReduceMean", ["y", "shape"], ["m"], name="mean_over_computed_axes"),
        ]
    )
    with pytest.raises(NotForTensorRT, match=r"'mean_over_computed_axes'.*input 1 must be an initializer"):
        check_for_tensorrt(model)


def test_the_exported_tensorrt_graphs_pass(demo_export: Path) -> None:
    for name in ("visible.onnx", "visible.fp16.onnx", "infrared.int8.onnx", "visible.int8.onnx"):
        check_for_tensorrt(onnx.load(os.fspath(demo_export / name)), name)
