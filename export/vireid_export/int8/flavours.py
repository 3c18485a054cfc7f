"""The two int8 flavours and how ONNX Runtime's quantiser is configured for each (docs/architecture.md).

- `TENSORRT` (`*.int8.onnx`): what TensorRT's explicit quantization accepts and fuses best. Symmetric int8 for
  activations (per tensor) and weights (per output channel), zero points 0, biases left in float (TensorRT's
  parser takes DequantizeLinear only on int8 / fp8 / int4 inputs, so ONNX Runtime's default int32 bias is
  refused there: onnx-tensorrt#850, TensorRT#3360). Q/DQ sits on the inputs of weighted ops and on the residual
  input of each skip-connection Add, never on the outputs of weighted ops: NVIDIA's placement recommendations,
  and what ModelOpt's ONNX PTQ does (its `configure_ort` sets these same quantiser options). The graph it
  quantises is the fp16 graph, so whatever stays unquantised runs in fp16, or fp32 where the fp16 plan says.
- `CPU` (`*.int8-cpu.onnx`): unsigned asymmetric activations and signed per-channel weights on the fp32 graph,
  the form ONNX Runtime's CPU integer kernels are fastest with. Its weights use 7 bits (`reduce_range`): on x86
  CPUs without VNNI the u8 x s8 kernels add pairs of products in 16 bits, and with 8-bit weights those sums
  saturate. Measured on the demo ResNet-50 infrared branch on an AMD EPYC without VNNI: cosine min 0.466 with
  8-bit weights, 0.947 with 7 bits, 0.946 for the same 8-bit graph emulated in float. The file is meant to run
  on any x86 CPU, so the 7 bits are not a per-machine choice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Int8Flavour:
    name: str
    target: str
    """What it is for, as `vireid export --int8-targets` names it: "tensorrt" or "cpu"."""
    base: str
    """The graph it quantises: "fp16" (TensorRT) or "fp32" (CPU)."""
    signed_activations: bool
    reduce_range: bool
    quantize_residual_adds: bool
    emulate_on_cpu: bool
    """Judge it by emulated Q/DQ arithmetic (what a GPU computes), not through the CPU's integer kernels."""

    @property
    def op_types(self) -> list[str]:
        weighted = ["Conv", "Gemm", "MatMul"]
        return [*weighted, "Add"] if self.quantize_residual_adds else weighted

    def ort_extra_options(self) -> dict[str, object]:
        return {
            "ActivationSymmetric": self.signed_activations,
            "WeightSymmetric": True,
            "QuantizeBias": False,
            "OpTypesToExcludeOutputQuantization": self.op_types,
            "QDQOpTypePerChannelSupportToAxis": {"Conv": 0},
            "DedicatedQDQPair": False,
        }


TENSORRT = Int8Flavour(
    name="qdq-s8-symmetric",
    target="tensorrt",
    base="fp16",
    signed_activations=True,
    reduce_range=False,
    quantize_residual_adds=True,
    emulate_on_cpu=True,
)
CPU = Int8Flavour(
    name="qdq-u8s8",
    target="cpu",
    base="fp32",
    signed_activations=False,
    reduce_range=True,
    quantize_residual_adds=False,
    emulate_on_cpu=False,
)

TARGETS: tuple[str, ...] = (TENSORRT.target, CPU.target)
"""Every int8 target, in registry order: what `--int8-targets` writes by default."""
