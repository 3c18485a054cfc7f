"""Where Q/DQ goes in an int8 graph, and the layers the search may keep in float.

TensorRT's placement recommendations (docs/architecture.md, "int8"): quantise the inputs of weighted ops
(Conv, Gemm, MatMul); quantise the residual input of each skip-connection Add, so that TensorRT fuses the
convolution on the other input with the Add and the Add's output stays int8; leave the outputs of weighted ops
in float. Nothing else is quantised: the attention gates, GeM and the normalisations are the graph's
float islands, and quantising their adds or products would cost accuracy for a negligible share of the work.

A skip-connection Add is recognised structurally, which holds for the ResNet blocks of every backbone here: an
Add whose output feeds a Relu, with at least one input computed by a Conv (through Casts in mixed-precision
graphs). Its non-residual input is the convolution TensorRT fuses into it: the input produced by a Conv, or, when
both are (a downsampling block), the one further from the graph input. The attention sums never feed a Relu.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx

WEIGHTED_OPS = ("Conv", "Gemm", "MatMul")


@dataclass(frozen=True)
class ResidualAdd:
    node: str
    fused_input: int
    """Index of the input that comes from the convolution TensorRT fuses (it keeps no Q/DQ)."""


def _producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {output: node for node in graph.node for output in node.output}


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    return consumers


def _depths(graph: onnx.GraphProto) -> dict[str, int]:
    """Longest path, in nodes, from a graph input to each tensor (ONNX graphs are topologically sorted)."""
    depth: dict[str, int] = {}
    for node in graph.node:
        level = 1 + max((depth.get(name, 0) for name in node.input), default=0)
        for output in node.output:
            depth[output] = level
    return depth


def _through_casts(name: str, producers: dict[str, onnx.NodeProto]) -> onnx.NodeProto | None:
    node = producers.get(name)
    while node is not None and node.op_type == "Cast":
        node = producers.get(node.input[0])
    return node


def residual_adds(graph: onnx.GraphProto) -> list[ResidualAdd]:
    """The skip-connection Adds of a float graph (before quantisation), in graph order."""
    producers, consumers, depth = _producers(graph), _consumers(graph), _depths(graph)
    found = []
    for node in graph.node:
        if node.op_type != "Add" or len(node.input) != 2:
            continue
        if not any(c.op_type == "Relu" for c in consumers.get(node.output[0], [])):
            continue
        sources = [_through_casts(name, producers) for name in node.input]
        from_conv = [s is not None and s.op_type == "Conv" for s in sources]
        if not any(from_conv):
            continue
        # Both from a Conv (a downsampling block): the main path is the longer one.
        fused = max((0, 1), key=lambda i: depth.get(node.input[i], 0)) if all(from_conv) else from_conv.index(True)
        found.append(ResidualAdd(node.name, fused))
    return found


def quantizable_nodes(graph: onnx.GraphProto, include_residual_adds: bool, with_outputs: bool = False) -> list[str]:
    """The nodes the quantiser is asked to quantise: weighted ops, skip Adds where asked, and with `with_outputs`
    the Relu and MaxPool reading a quantised node's output (the trunk's; the attention gates and the head's
    other operators stay float)."""
    names = [node.name for node in graph.node if node.op_type in WEIGHTED_OPS]
    if include_residual_adds:
        names += [add.node for add in residual_adds(graph)]
    if with_outputs:
        producers = _producers(graph)
        quantised = set(names)
        for node in graph.node:  # graph order: a MaxPool after a quantised Relu joins too
            source = producers.get(node.input[0]) if node.input else None
            if node.op_type in ("Relu", "MaxPool") and source is not None and source.name in quantised:
                names.append(node.name)
                quantised.add(node.name)
    return names


def drop_fused_input_qdq(model: onnx.ModelProto, adds: list[ResidualAdd]) -> int:
    """Give each skip Add its fused input back in float (the quantiser puts Q/DQ on every input of an Add).

    Returns how many inputs were rewired; Q/DQ nodes left without consumers are removed.
    """
    graph = model.graph
    producers = _producers(graph)
    by_name = {node.name: node for node in graph.node}
    rewired = 0
    for add in adds:
        node = by_name.get(add.node)
        if node is None:
            continue
        dq = producers.get(node.input[add.fused_input])
        if dq is None or dq.op_type != "DequantizeLinear":
            continue
        q = producers.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear":
            continue
        node.input[add.fused_input] = q.input[0]
        rewired += 1
    remove_dead_nodes(model)
    return rewired


def remove_dead_nodes(model: onnx.ModelProto) -> None:
    """Drop nodes whose outputs nobody reads, and initializers nobody reads, until none are left."""
    graph = model.graph
    outputs = {o.name for o in graph.output}
    while True:
        used = {name for node in graph.node for name in node.input} | outputs
        dead = [node for node in graph.node if not any(o in used for o in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    used = {name for node in graph.node for name in node.input} | outputs
    kept = [init for init in graph.initializer if init.name in used]
    if len(kept) != len(graph.initializer):
        del graph.initializer[:]
        graph.initializer.extend(kept)
