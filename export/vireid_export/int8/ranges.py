"""What an int8 graph's activation ranges are, and how far real images go past them.

A value beyond its Q's range is clipped, and no layer kept in float afterwards gives it back; the search sets
ranges from every screened training image for that reason (`search.py`). These two functions let a test and
`benchmarks/int8_ranges.py` check ranges against images.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from vireid_export.ort_cpu import cpu_session
from vireid_runtime.manifest import INPUT_NAME


def activation_ranges(model: onnx.ModelProto) -> dict[str, float]:
    """Per tensor an activation QuantizeLinear reads (in graph order): the largest value that Q represents,
    scale x (255 - zero point) for u8, scale x 127 for s8. Weights (constant inputs) are left out."""
    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    constants.update(
        {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node if n.op_type == "Constant"}
    )
    ranges = {}
    for node in model.graph.node:
        if node.op_type != "QuantizeLinear" or node.input[0] in constants:
            continue
        scale = constants.get(node.input[1])
        zero = constants.get(node.input[2]) if len(node.input) > 2 else None
        if scale is None or scale.size != 1:
            continue
        if zero is not None and zero.dtype == np.uint8:
            ranges[node.input[0]] = float(scale) * (255 - int(zero))
        else:
            ranges[node.input[0]] = float(scale) * 127
    return ranges


def tensor_maxima(model: onnx.ModelProto, names: list[str], images: np.ndarray, batch: int = 16) -> np.ndarray:
    """images x `names`: each tensor's largest magnitude per image, from a copy of float `model` that outputs
    them."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names)
    session = cpu_session(probe)
    rows = []
    for start in range(0, len(images), batch):
        values = session.run(names, {INPUT_NAME: images[start : start + batch]})  # type: ignore[attr-defined]
        rows.append(np.stack([np.abs(v).reshape(len(v), -1).max(axis=1) for v in values], axis=1))
    return np.concatenate(rows)
