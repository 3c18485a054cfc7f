"""A quantised graph with chosen layers put back in the base graph's precision, without quantising again.

The search measures hundreds of variants of one graph: "everything int8 but layer L" and "only layer L int8".
Re-running the quantiser for each would redo its whole pass; instead each variant is the fully quantised graph
with the Q/DQ on the inputs of the chosen nodes bypassed, which is what the quantiser itself produces for an
excluded node (per-consumer: a Q/DQ pair shared with another, still-quantised consumer stays for that one):
- an activation input is rewired from DequantizeLinear to the base graph's own tensor, where the quantised graph
  still has it (not where the quantiser folded a Relu into a Q's range: that input stays quantised);
- a weight input is rewired to the base graph's float initializer (same node, same input position).
Nodes keep their names through quantisation, so the base graph is the map back to float.
"""

from __future__ import annotations

from collections.abc import Collection

import onnx
from onnx import numpy_helper

from vireid_export.int8.placement import remove_dead_nodes


class FloatInputs:
    """Finds, for a node of a quantised graph, the float tensors its dequantised inputs stand for."""

    def __init__(self, quantized: onnx.ModelProto, base: onnx.ModelProto) -> None:
        self.graph = quantized.graph
        self.producers = {output: node for node in self.graph.node for output in node.output}
        self.graph_inputs = {value.name for value in self.graph.input}
        self.base_nodes = {node.name: node for node in base.graph.node}
        self.base_producers = {output: node for node in base.graph.node for output in node.output}
        self.base_initializers = {init.name: init for init in base.graph.initializer}
        self.present = {init.name for init in self.graph.initializer}

    def exists(self, name: str) -> bool:
        return name in self.producers or name in self.graph_inputs or name in self.present

    def float_input(self, node: onnx.NodeProto, index: int) -> str | None:
        """What input `index` of `node` reads in float (the base graph's own tensor), or None when it is not
        dequantised or its float value cannot be had."""
        dq = self.producers.get(node.input[index])
        if dq is None or dq.op_type != "DequantizeLinear":
            return None
        original = self.base_nodes[node.name].input[index]
        q = self.producers.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear":
            return self._initializer(original)
        folded = self.base_producers.get(original)
        producer = self.producers.get(original)
        was_folded = folded is not None and folded.op_type in ("Relu", "Clip")
        if was_folded and producer is not None and producer.op_type != folded.op_type:  # type: ignore[union-attr]
            return self._reapply(folded, original)  # type: ignore[arg-type]
        return original if self.exists(original) and original not in self.present else None

    def _reapply(self, folded: onnx.NodeProto, name: str) -> str:
        """The quantiser folds a Relu (or Clip) into the range of the Q after a convolution: it removes the node
        and gives its output name to the convolution's output, so `name` now holds the value *before* the Relu.
        The float value is recomputed by a copy of the base graph's node, placed right after its input's producer
        (ONNX wants nodes in topological order)."""
        restored = f"{name}_vireid_float"
        if restored not in self.producers:
            node = onnx.NodeProto()
            node.CopyFrom(folded)
            node.name = f"{folded.name}_vireid_float"
            node.input[0] = name
            node.output[0] = restored
            nodes = list(self.graph.node)
            source = self.producers.get(name)
            at = nodes.index(source) + 1 if source is not None else 0
            self.graph.node.insert(at, node)
            self.producers[restored] = node
        return restored

    def _initializer(self, name: str) -> str:
        """The name under which the graph holds the base graph's float initializer `name`, adding it if needed.

        The quantiser may reuse a float name for a DequantizeLinear output (an int32 bias dequantised under a
        name derived from the weight's), so a float copy then goes in under a name of its own."""
        if name not in self.producers:
            if name not in self.present:
                self.graph.initializer.append(self.base_initializers[name])
                self.present.add(name)
            return name
        alias = f"{name}_vireid_float"
        if alias not in self.present:
            values = numpy_helper.to_array(self.base_initializers[name])
            self.graph.initializer.append(numpy_helper.from_array(values, alias))
            self.present.add(alias)
        return alias


def dequantized_readers(model: onnx.ModelProto) -> list[str]:
    """Nodes (other than Q/DQ) reading a DequantizeLinear output, in graph order: what can read float instead."""
    dequantized = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    return [
        n.name
        for n in model.graph.node
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear") and any(i in dequantized for i in n.input)
    ]


def with_float_nodes(quantized: onnx.ModelProto, base: onnx.ModelProto, nodes: Collection[str]) -> onnx.ModelProto:
    """A copy of `quantized` in which every node named in `nodes` reads its inputs unquantised where it can."""
    model = onnx.ModelProto()
    model.CopyFrom(quantized)
    if not nodes:
        return model
    inputs = FloatInputs(model, base)
    wanted = set(nodes)
    for node in list(model.graph.node):  # a snapshot: restoring a folded Relu inserts nodes
        if node.name not in wanted:
            continue
        for index in range(len(node.input)):
            replacement = inputs.float_input(node, index)
            if replacement is not None:
                node.input[index] = replacement
    remove_dead_nodes(model)
    return model
