"""A quantised graph with chosen layers put back in the base graph's precision, without quantising again.

The search measures hundreds of variants of one graph: "everything int8 but layer L" and "only layer L int8".
Re-running the quantiser for each would redo its whole pass; instead each variant is the fully quantised graph
with the Q/DQ on the inputs of the chosen nodes bypassed, which is what the quantiser itself produces for an
excluded node (per-consumer: a Q/DQ pair shared with another, still-quantised consumer stays for that one):
- an activation input is rewired from DequantizeLinear to the tensor before its QuantizeLinear;
- a weight input is rewired to the base graph's float initializer (same node, same input position).
Nodes keep their names through quantisation, so the base graph is the map back to float.
"""

from __future__ import annotations

from collections.abc import Collection

import onnx
from onnx import numpy_helper

from vireid_export.int8.placement import remove_dead_nodes


def with_float_nodes(quantized: onnx.ModelProto, base: onnx.ModelProto, nodes: Collection[str]) -> onnx.ModelProto:
    """A copy of `quantized` in which every node named in `nodes` reads its inputs unquantised."""
    model = onnx.ModelProto()
    model.CopyFrom(quantized)
    if not nodes:
        return model
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    base_nodes = {node.name: node for node in base.graph.node}
    base_initializers = {init.name: init for init in base.graph.initializer}
    present = {init.name for init in graph.initializer}
    wanted = set(nodes)
    for node in graph.node:
        if node.name not in wanted:
            continue
        for index, name in enumerate(node.input):
            dq = producers.get(name)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = producers.get(dq.input[0])
            if q is not None and q.op_type == "QuantizeLinear":
                node.input[index] = q.input[0]
                continue
            original = base_nodes[node.name].input[index]
            node.input[index] = float_initializer(graph, base_initializers, original, producers, present)
    remove_dead_nodes(model)
    return model


def float_initializer(
    graph: onnx.GraphProto,
    base_initializers: dict[str, onnx.TensorProto],
    name: str,
    producers: dict[str, onnx.NodeProto],
    present: set[str],
) -> str:
    """The name under which `graph` holds the base graph's float initializer `name`, adding it if needed.

    The quantiser may reuse a float name for a DequantizeLinear output (an int32 bias dequantised under a name
    derived from the weight's), so a float copy then goes in under a name of its own."""
    if name not in producers:
        if name not in present:
            graph.initializer.append(base_initializers[name])
            present.add(name)
        return name
    alias = f"{name}_vireid_float"
    if alias not in present:
        graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(base_initializers[name]), alias))
        present.add(alias)
    return alias
