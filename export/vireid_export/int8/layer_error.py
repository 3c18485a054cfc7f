"""Each layer's own int8 error, for every layer at once, from one run of one graph.

The int8 search needs the layers ranked by how much quantising each one hurts, before it measures anything
(`search.py`). Measuring each layer alone costs one graph per layer: on the ResNet-50 that was most of a search
of 75-170 s per graph. Instead, the fully quantised graph gets a float twin of every layer: the same node, fed
the same upstream values before their Q/DQ and the float weights. Both outputs become graph outputs, so one run
gives, per layer and image, the layer's own quantisation noise on the inputs it really receives:

    error = ||y_int8 - y_float||^2 / ||y_float||^2   (noise-to-signal power; 10 log10 of its inverse is SQNR)

This is the per-tensor comparison ONNX Runtime's `qdq_loss_debug` makes between a float and a Q/DQ run, taken at
each layer's output rather than each Q/DQ pair, so that weight and activation rounding, and a rounding that a
dead input channel makes huge, count together. It says nothing about how the error grows downstream; the search
corrects for that by measuring the ranked prefixes for real.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import onnx
from onnx import helper

from vireid_export.int8.graph_edit import FloatInputs
from vireid_export.onnx_graph import tensor_types
from vireid_export.ort_cpu import cpu_session
from vireid_runtime.manifest import INPUT_NAME

TWIN_SUFFIX = "/vireid_float_twin"


def with_float_twins(quantized: onnx.ModelProto, base: onnx.ModelProto, layers: Collection[str]) -> onnx.ModelProto:
    """A copy of `quantized` with a float twin of each node in `layers`; both outputs of each are graph outputs."""
    model = onnx.ModelProto()
    model.CopyFrom(quantized)
    graph = model.graph
    float_inputs = FloatInputs(model, base)
    types = tensor_types(quantized)
    wanted = set(layers)
    twins = []
    declared = {output.name for output in graph.output}
    for node in list(graph.node):  # a snapshot: restoring a folded Relu inserts nodes
        if node.name not in wanted:
            continue
        inputs = [float_inputs.float_input(node, index) or name for index, name in enumerate(node.input)]
        twin = onnx.NodeProto()
        twin.CopyFrom(node)
        twin.name = node.name + TWIN_SUFFIX
        del twin.input[:]
        twin.input.extend(inputs)
        del twin.output[:]
        twin.output.extend([node.output[0] + TWIN_SUFFIX, *(["" for _ in node.output[1:]])])
        twins.append(twin)
        elem = types.get(node.output[0], onnx.TensorProto.FLOAT)
        pair = [name for name in (node.output[0], node.output[0] + TWIN_SUFFIX) if name not in declared]
        graph.output.extend([helper.make_tensor_value_info(name, elem, None) for name in pair])
    graph.node.extend(twins)
    return model


def layer_errors(
    quantized: onnx.ModelProto,
    base: onnx.ModelProto,
    layers: list[str],
    images: np.ndarray,
    *,
    emulate_qdq: bool,
    batch: int = 8,
) -> dict[str, np.ndarray]:
    """Per layer in `layers`, per image: the noise-to-signal power of its output (see the module doc)."""
    model = with_float_twins(quantized, base, layers)
    by_name = {node.name: node for node in model.graph.node}
    fetch = [name for layer in layers for name in (by_name[layer].output[0], by_name[layer].output[0] + TWIN_SUFFIX)]
    session = cpu_session(model, emulate_qdq=emulate_qdq)
    run = session.run  # type: ignore[attr-defined]
    errors: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    for start in range(0, len(images), batch):
        values = run(fetch, {INPUT_NAME: images[start : start + batch]})
        for layer, index in zip(layers, range(0, len(values), 2), strict=True):
            quantised = values[index].astype(np.float64).reshape(len(values[index]), -1)
            exact = values[index + 1].astype(np.float64).reshape(len(quantised), -1)
            noise = ((quantised - exact) ** 2).sum(axis=1)
            signal = np.maximum((exact**2).sum(axis=1), 1e-30)
            errors[layer].append(noise / signal)
    return {layer: np.concatenate(parts) for layer, parts in errors.items()}
