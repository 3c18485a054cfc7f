"""What keeping a layer in float costs an int8 graph: its share of the graph's multiply-adds.

The search prefers the cheapest set of float layers that holds its target (`search.py`), so it ranks layers by
error per unit of cost. Speed follows the multiply-adds that leave the integer kernels: a head reduction (a 1x1
convolution on a pooled strip) costs almost nothing, a layer3 convolution of a ResNet-50 a few percent. A
residual add kept in float costs the convolution fused into it: the engines fuse the convolution on its main path
with the add in int8 (ONNX Runtime's QLinearConv + QLinearAdd, OpenVINO's sum post-op), and a float add forces
that convolution's output back to float.

A structural model rather than a per-layer timing: timing every layer alone in each engine cost more than the
search it would guide, and the ranking only needs the order of magnitude (a head reduction against a layer3
convolution is three orders).
"""

from __future__ import annotations

import math

import onnx

from vireid_export.int8.placement import WEIGHTED_OPS, residual_adds


def _shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Static dimensions of every value with a known shape (a symbolic dimension, the batch, counts as 1)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
    for init in model.graph.initializer:
        shapes[init.name] = tuple(init.dims)
    return shapes


def multiply_adds(model: onnx.ModelProto) -> dict[str, float]:
    """Per weighted node of a shape-inferred float graph: multiply-adds per image."""
    shapes = _shapes(model)
    macs: dict[str, float] = {}
    for node in model.graph.node:
        if node.op_type not in WEIGHTED_OPS or len(node.input) < 2:
            continue
        out, weight = shapes.get(node.output[0]), shapes.get(node.input[1])
        if not out or not weight:
            macs[node.name] = 0.0
            continue
        if node.op_type == "Conv":  # out: N x Cout x H x W; weight: Cout x Cin/groups x kh x kw
            macs[node.name] = float(math.prod(out[1:]) * math.prod(weight[1:]))
        else:  # Gemm / MatMul: every output element is a dot product over the weight's input dimension
            inner = weight[0] if node.op_type == "MatMul" else weight[1 if _transposed(node) else 0]
            macs[node.name] = float(math.prod(out[1:]) * inner)
    return macs


def _transposed(node: onnx.NodeProto) -> bool:
    return any(a.name == "transB" and a.i for a in node.attribute)


def float_costs(base: onnx.ModelProto, candidates: list[str]) -> dict[str, float]:
    """Per candidate node of `base` (shape-inferred), the share of all multiply-adds that keeping it float costs."""
    macs = multiply_adds(base)
    total = sum(macs.values()) or 1.0
    producers = {output: node for node in base.graph.node for output in node.output}
    fused: dict[str, float] = {}
    by_name = {node.name: node for node in base.graph.node}
    for add in residual_adds(base.graph):
        source = producers.get(by_name[add.node].input[add.fused_input])
        while source is not None and source.op_type == "Cast":
            source = producers.get(source.input[0])
        fused[add.node] = macs.get(source.name, 0.0) if source is not None else 0.0
    return {node: (macs.get(node) or fused.get(node, 0.0)) / total for node in candidates}
