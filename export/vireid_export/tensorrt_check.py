"""Would TensorRT's ONNX parser take this graph? Checked on every graph meant for TensorRT, before any GPU.

A graph that TensorRT refuses fails at `vireid export --engine trt` on the target machine, or worse, at a
user's `trtexec` weeks later. These checks catch what is visible in the graph itself (docs/architecture.md,
"TensorRT"), against `tensorrt_ops.py`:
- the opset is within TensorRT 10's range, and every operator is one the parser supports;
- every DequantizeLinear reads a quantized type (int8 / int4 / fp8): an int32 quantized bias is refused;
- every QuantizeLinear produces int8 (its zero point's type), and every zero point is all zeros;
- every scale is positive and finite; activation scales are per tensor, weight scales per output channel;
- inputs the parser needs as constants (Reduce* axes at opset >= 18, Squeeze / Unsqueeze axes, Slice axes,
  Clip bounds) are initializers or Constant outputs;
- the graph's tensor types are ones TensorRT has.
The first failure is raised as one line naming the node and the rule.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from vireid.errors import VireidError
from vireid_export.onnx_graph import opset_of, tensor_types
from vireid_export.tensorrt_ops import (
    CONSTANT_INPUTS,
    MAX_OPSET,
    MIN_OPSET,
    QUANTIZED_TYPES,
    SUPPORTED_OPS,
    TENSOR_TYPES,
)


class NotForTensorRT(VireidError):
    """A graph meant for TensorRT that its ONNX parser would refuse."""


def _refuse(graph_name: str, node: onnx.NodeProto, rule: str) -> NotForTensorRT:
    return NotForTensorRT(f"{graph_name} is not a graph TensorRT accepts: node {node.name!r} ({node.op_type}) {rule}")


def check_for_tensorrt(model: onnx.ModelProto, graph_name: str = "the graph") -> None:
    """Raise NotForTensorRT for the first thing TensorRT 10's parser would refuse; return quietly otherwise."""
    opset = opset_of(model)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise NotForTensorRT(f"{graph_name} has opset {opset}; TensorRT 10 parses opsets {MIN_OPSET}..{MAX_OPSET}")
    model = onnx.shape_inference.infer_shapes(model)  # the types of Q outputs and other intermediate tensors
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    constants = set(initializers) | {n.output[0] for n in graph.node if n.op_type == "Constant"}
    types = tensor_types(model)
    for node in graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise _refuse(graph_name, node, f"is in the custom domain {node.domain!r}")
        if node.op_type not in SUPPORTED_OPS:
            raise _refuse(graph_name, node, "is not an operator TensorRT's ONNX parser supports")
        for position in CONSTANT_INPUTS.get(node.op_type, ()):
            if len(node.input) > position and node.input[position] and node.input[position] not in constants:
                raise _refuse(
                    graph_name, node, f"input {position} must be an initializer (TensorRT folds no constants)"
                )
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            _check_qdq(graph_name, node, initializers, types)
    for name, elem in types.items():
        if elem not in TENSOR_TYPES and elem != TensorProto.UNDEFINED:
            raise NotForTensorRT(
                f"{graph_name} is not a graph TensorRT accepts: tensor {name!r} has type "
                f"{TensorProto.DataType.Name(elem)}"
            )


def _check_qdq(
    graph_name: str, node: onnx.NodeProto, initializers: dict[str, onnx.TensorProto], types: dict[str, int]
) -> None:
    data, scale_name = node.input[0], node.input[1]
    zero_point = initializers.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if node.op_type == "DequantizeLinear" and types.get(data) not in QUANTIZED_TYPES:
        found = TensorProto.DataType.Name(types.get(data, TensorProto.UNDEFINED))
        raise _refuse(
            graph_name, node, f"reads {found}; TensorRT dequantizes only int8, int4 or fp8 (biases stay float)"
        )
    if len(node.input) > 2 and node.input[2] and zero_point is None:
        raise _refuse(graph_name, node, "has a zero point that is not an initializer")
    if zero_point is not None:
        if zero_point.data_type not in QUANTIZED_TYPES:
            found = TensorProto.DataType.Name(zero_point.data_type)
            raise _refuse(graph_name, node, f"has a {found} zero point; TensorRT quantizes to int8, int4 or fp8")
        if numpy_helper.to_array(zero_point).astype(np.float64).any():
            raise _refuse(graph_name, node, "has a non-zero zero point; TensorRT quantizes symmetrically only")
    scale = initializers.get(scale_name)
    if scale is None:
        raise _refuse(graph_name, node, "has a scale that is not an initializer")
    values = numpy_helper.to_array(scale).astype(np.float64)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise _refuse(graph_name, node, "has a scale that is not positive and finite")
    per_channel = values.size > 1
    if per_channel and data not in initializers:  # weights are initializers; anything else is an activation
        raise _refuse(graph_name, node, "quantizes an activation per channel; TensorRT takes per-tensor activations")
    axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
    if per_channel and axis != 0:
        raise _refuse(graph_name, node, f"quantizes weights along axis {axis}; TensorRT wants the output channels (0)")
