"""fp16 ONNX: the model's own precision choices plus a measured plan, not a blind cast of the graph.

`mixed_precision_branch` builds the branch that is exported as `*.fp16.onnx`:
1. BatchNorm is folded into the convolutions in float32 first (`batchnorm.py` says why this matters);
2. every convolution computes in fp16, except the ones the plan keeps in fp32 (`fp16_search.py` finds them);
   each convolution casts its input to its own dtype, so a kept one receives unrounded values from the stem
   input and hands float32 on to whatever follows it;
3. the structural fp32 islands stay as the modules write them (docs/architecture.md, "Precisions"):
   - GeM pooling: x^p with p = 3 or 10 overflows fp16 (65504) long before the mean brings it back;
   - the attention gates' pre-sigmoid sums (channel attention avg + max, MGSA global + local);
   - the input normalisation and the final L2 normalisation, so the graph takes and returns float32.
`fp32_islands` inspects a graph for exactly those islands and counts the fp16 / fp32 convolutions, which is how
the export proves they survived the exporter's optimisations.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass

import onnx
import torch
from onnx import TensorProto
from torch import nn

from vireid.models import Modality, ReidBranch, TwoStreamReID
from vireid_export.batchnorm import fold_batchnorm
from vireid_export.onnx_graph import tensor_types


def _cast_input(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    dtype = next(module.parameters()).dtype
    return (args[0].to(dtype), *args[1:])


def _round_input(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return (args[0].float().half().float(), *args[1:])


def _round_output(_module: nn.Module, _args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
    return output.half().float()


def folded_model(model: TwoStreamReID) -> TwoStreamReID:
    """A float32 eval-mode copy of `model` with BatchNorm folded into the convolutions."""
    folded = copy.deepcopy(model).float().eval()
    fold_batchnorm(folded)
    return folded


def branch_convolutions(branch: nn.Module) -> dict[str, nn.Conv2d]:
    """The branch's convolutions by module path (the names the ONNX weights carry, minus `.weight`)."""
    return {name: module for name, module in branch.named_modules() if isinstance(module, nn.Conv2d)}


def mixed_precision_branch(
    model: TwoStreamReID,
    modality: Modality,
    fp32_layers: Collection[str] = (),
    *,
    folded: bool = False,
    emulate: bool = False,
) -> ReidBranch:
    """The fp16 branch of `model` with `fp32_layers` (convolution paths) computing in float32.

    `model` is left untouched unless `folded` says it already is a `folded_model` copy that may be modified.
    With `emulate`, the fp16 convolutions keep float32 tensors holding fp16 values (weights, inputs and outputs
    rounded through fp16, arithmetic in float32), which is what ONNX Runtime's CPU provider does with an fp16
    graph and an order of magnitude faster in torch on a CPU than real half-precision kernels; the searches
    measure with it, the export writes the real thing, and the gate measures that.
    """
    source = model if folded else folded_model(model)
    branch = source.branch(modality)
    convs = branch_convolutions(branch)
    unknown = sorted(set(fp32_layers) - set(convs))
    if unknown:
        raise ValueError(f"not convolutions of the {modality} branch: {', '.join(unknown)}")
    for name, conv in convs.items():
        if name in fp32_layers:
            conv.float()
        elif emulate:
            with torch.no_grad():
                for parameter in conv.parameters():
                    parameter.copy_(parameter.half().float())
            conv.register_forward_pre_hook(_round_input)
            conv.register_forward_hook(_round_output)
            continue
        else:
            conv.half()
        conv.register_forward_pre_hook(_cast_input)
    return branch


@dataclass(frozen=True)
class PrecisionReport:
    convs_fp16: int
    convs_fp32: int
    convs_total: int
    pows_fp32: int
    pows_total: int
    sigmoids_fp32: int
    sigmoids_total: int
    input_fp32: bool
    output_fp32: bool
    normalisation_fp32: bool
    fp32_conv_layers: frozenset[str] = frozenset()
    """The module paths of the fp32 convolutions (from their weights' names); a module applied twice, like
    CBAM's shared channel MLP on the average- and max-pooled maps, is two Conv nodes and one layer here."""

    def islands_intact(self, kept: Collection[str] = ()) -> bool:
        """GeM, gates and normalisations in fp32, exactly the `kept` convolution layers in fp32, the rest fp16."""
        return (
            self.pows_fp32 == self.pows_total > 0
            and self.sigmoids_fp32 == self.sigmoids_total
            and self.input_fp32
            and self.output_fp32
            and self.normalisation_fp32
            and self.fp32_conv_layers == frozenset(kept)
            and self.convs_fp16 + self.convs_fp32 == self.convs_total
            and self.convs_fp16 > 0
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
        convs_fp32=sum(first_input_is(n, TensorProto.FLOAT) for n in convs),
        convs_total=len(convs),
        pows_fp32=sum(first_input_is(n, TensorProto.FLOAT) for n in pows),
        pows_total=len(pows),
        sigmoids_fp32=sum(first_input_is(n, TensorProto.FLOAT) for n in sigmoids),
        sigmoids_total=len(sigmoids),
        input_fp32=model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT,
        output_fp32=model.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT,
        normalisation_fp32=bool(norms) and all(first_input_is(n, TensorProto.FLOAT) for n in norms),
        fp32_conv_layers=frozenset(
            n.input[1].removesuffix(".weight") for n in convs if first_input_is(n, TensorProto.FLOAT)
        ),
    )
