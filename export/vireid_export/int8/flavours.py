"""The two int8 flavours and how ONNX Runtime's quantiser is configured for each (docs/architecture.md).

- `TENSORRT` (`*.int8.onnx`): what TensorRT's explicit quantization accepts and fuses best. Symmetric int8 for
  activations (per tensor) and weights (per output channel), zero points 0, biases left in float (TensorRT's
  parser takes DequantizeLinear only on int8 / fp8 / int4 inputs, so ONNX Runtime's default int32 bias is
  refused there: onnx-tensorrt#850, TensorRT#3360). Q/DQ sits on the inputs of weighted ops and on the residual
  input of each skip-connection Add, never on the outputs of weighted ops: NVIDIA's placement recommendations,
  and what ModelOpt's ONNX PTQ does (its `configure_ort` sets these same quantiser options). The graph it
  quantises is the fp16 graph, so whatever stays unquantised runs in fp16, or fp32 where the fp16 plan says.
- `CPU` (`*.int8-cpu.onnx`): unsigned asymmetric activations and signed per-channel weights on the fp32 graph.
  Q/DQ sits on the inputs *and outputs* of the weighted ops, on the Relu and MaxPool that follow them (the
  quantiser folds each such Relu into the range of the Q before it), on both inputs of each skip Add, and
  biases are int32, so that the residual trunk stays in int8 from layer to layer. ONNX Runtime's CPU provider
  builds an integer kernel only from a DQ -> op -> Q group (QLinearConv, QLinearAdd): with the outputs left
  float, as the TensorRT placement leaves them, it ran each convolution in float on dequantised values. On the
  demo resnet18 (visible, 96x48, batch 8, Intel Xeon with AMX; medians of 15 runs, engines taking turns),
  against ONNX Runtime fp32: inputs-only placement 1.1-1.4x, this one 2.1-2.5x on ONNX Runtime; on OpenVINO
  both 3.5-5x (its bf16 2.5-3.5x). The attention gates, GeM and the normalisations stay float.
  Weights use 8 bits where the exporting CPU has VNNI (or AMX), 7 (`reduce_range`) elsewhere: on x86 CPUs
  without VNNI the u8 x s8 kernels add pairs of products in 16 bits, and with 8-bit weights those sums
  saturate (demo ResNet-50 infrared branch on an AMD EPYC without VNNI: cosine min 0.466 with 8-bit weights,
  0.947 with 7 bits, 0.946 for the same 8-bit graph emulated in float). With VNNI the sums are 32-bit and the
  eighth bit halves the weights' rounding for free. The manifest records the bits; a graph with 8-bit weights
  deployed on a CPU without VNNI fails the bench's parity there, so `auto` never picks it on such a machine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vireid_runtime.machine import cpu_flags


@dataclass(frozen=True)
class Int8Flavour:
    name: str
    target: str
    """What it is for, as `vireid export --int8-targets` names it: "tensorrt" or "cpu"."""
    base: str
    """The graph it quantises: "fp16" (TensorRT) or "fp32" (CPU)."""
    signed_activations: bool
    reduce_range: bool | None
    """7-bit weights; None: 7 bits unless the exporting CPU has VNNI (`weight_reduce_range`)."""
    quantize_residual_adds: bool
    emulate_on_cpu: bool
    """Judge it by emulated Q/DQ arithmetic (what a GPU computes), not through the CPU's integer kernels."""
    quantize_outputs: bool = False
    """Q/DQ on the outputs of weighted ops too, with their Relu and MaxPool, both inputs of a skip Add and int32
    biases (the CPU engines' integer kernels); False: inputs only, a skip Add's fused input float (TensorRT)."""
    fallback: Int8Flavour | None = None
    """The same file in another placement, searched too when this one keeps costly layers in float; the faster
    of the two, measured (`speed.py`), ships."""

    @property
    def placement(self) -> str:
        if self.quantize_outputs:
            return "inputs and outputs of weighted ops, their Relu and MaxPool, both inputs of skip adds"
        if self.quantize_residual_adds:
            return "inputs of weighted ops and the residual input of skip adds"
        return "inputs of weighted ops"

    @property
    def op_types(self) -> list[str]:
        ops = ["Conv", "Gemm", "MatMul", *(["Relu", "MaxPool"] if self.quantize_outputs else [])]
        return [*ops, "Add"] if self.quantize_residual_adds else ops

    def weight_reduce_range(self) -> bool:
        if self.reduce_range is not None:
            return self.reduce_range
        return not cpu_has_vnni()

    def ort_extra_options(self) -> dict[str, object]:
        return {
            "ActivationSymmetric": self.signed_activations,
            "WeightSymmetric": True,
            "QuantizeBias": self.quantize_outputs,  # TensorRT's parser refuses an int32 bias
            "OpTypesToExcludeOutputQuantization": [] if self.quantize_outputs else self.op_types,
            "QDQOpTypePerChannelSupportToAxis": {"Conv": 0},
            "DedicatedQDQPair": False,
        }


VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
"""Linux /proc/cpuinfo flags of x86 CPUs whose u8 x s8 dot products accumulate in 32 bits."""


def cpu_has_vnni() -> bool:
    """True where this CPU reports one of `VNNI_FLAGS` (the runtime's reading of its flags, as benches record)."""
    return any(flag in cpu_flags() for flag in VNNI_FLAGS)


TENSORRT = Int8Flavour(
    name="qdq-s8-symmetric",
    target="tensorrt",
    base="fp16",
    signed_activations=True,
    reduce_range=False,
    quantize_residual_adds=True,
    emulate_on_cpu=True,
)
CPU_INPUTS_ONLY = Int8Flavour(
    name="qdq-u8s8",
    target="cpu",
    base="fp32",
    signed_activations=False,
    reduce_range=None,
    quantize_residual_adds=False,
    emulate_on_cpu=False,
)
CPU = dataclasses.replace(CPU_INPUTS_ONLY, quantize_residual_adds=True, quantize_outputs=True, fallback=CPU_INPUTS_ONLY)

TARGETS: tuple[str, ...] = (TENSORRT.target, CPU.target)
"""Every int8 target, in registry order: what `--int8-targets` writes by default."""
