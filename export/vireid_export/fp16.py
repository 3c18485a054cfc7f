"""fp16 ONNX: the model's own precision choices, not a blind cast of the graph.

The branch is converted to half precision and exported as it is: its modules already keep the numerically
fragile parts in float32 (DESIGN.md section 7):
- GeM pooling: x^p with p = 3 or 10 overflows fp16 (65504) long before the mean brings it back;
- the attention gates' pre-sigmoid sums (channel attention avg + max, MGSA global + local);
- the input normalisation and the final L2 normalisation, so the graph takes and returns float32.
Convolutions and everything else run in fp16. `fp32_islands` inspects a graph for exactly those islands,
which is how the tests prove they survived the exporter's optimisations.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import onnx
from onnx import TensorProto

from vireid.models import Modality, ReidBranch, TwoStreamReID
from vireid_export.onnx_graph import tensor_types


def half_branch(model: TwoStreamReID, modality: Modality) -> ReidBranch:
    """A half-precision copy of one branch (the float32 model is left untouched)."""
    return copy.deepcopy(model).eval().half().branch(modality)


@dataclass(frozen=True)
class PrecisionReport:
    convs_fp16: int
    convs_total: int
    pows_fp32: int
    pows_total: int
    sigmoids_fp32: int
    sigmoids_total: int
    input_fp32: bool
    output_fp32: bool
    normalisation_fp32: bool

    @property
    def islands_intact(self) -> bool:
        return (
            self.pows_fp32 == self.pows_total > 0
            and self.sigmoids_fp32 == self.sigmoids_total
            and self.input_fp32
            and self.output_fp32
            and self.normalisation_fp32
            and self.convs_fp16 == self.convs_total > 0
        )


def fp32_islands(model: onnx.ModelProto) -> PrecisionReport:
    """Count which precision-sensitive ops compute in float32 and which convolutions run in fp16."""
    types = tensor_types(model)

    def first_input_is(node: onnx.NodeProto, elem: int) -> bool:
        return bool(node.input) and types.get(node.input[0]) == elem

    nodes = list(model.graph.node)
    convs = [n for n in nodes if n.op_type == "Conv"]
    pows = [n for n in nodes if n.op_type == "Pow"]
    sigmoids = [n for n in nodes if n.op_type == "Sigmoid"]
    norms = [n for n in nodes if n.op_type in ("ReduceL2", "LpNormalization")]
    return PrecisionReport(
        convs_fp16=sum(first_input_is(n, TensorProto.FLOAT16) for n in convs),
        convs_total=len(convs),
        pows_fp32=sum(first_input_is(n, TensorProto.FLOAT) for n in pows),
        pows_total=len(pows),
        sigmoids_fp32=sum(first_input_is(n, TensorProto.FLOAT) for n in sigmoids),
        sigmoids_total=len(sigmoids),
        input_fp32=model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT,
        output_fp32=model.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT,
        normalisation_fp32=bool(norms) and all(first_input_is(n, TensorProto.FLOAT) for n in norms),
    )
