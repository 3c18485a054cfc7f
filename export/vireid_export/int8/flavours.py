"""The two int8 flavours and how ONNX Runtime's quantiser is configured for each (docs/architecture.md).

- `TENSORRT` (`*.int8.onnx`): what TensorRT's explicit quantization accepts and fuses best. Symmetric int8 for
  activations (per tensor) and weights (per output channel), zero points 0, biases left in float (TensorRT's
  parser takes DequantizeLinear only on int8 / fp8 / int4 inputs, so ONNX Runtime's default int32 bias is
  refused there: onnx-tensorrt#850, TensorRT#3360). Q/DQ sits on the inputs of weighted ops and on the residual
  input of each skip-connection Add, never on the outputs of weighted ops: NVIDIA's placement recommendations,
  and what ModelOpt's ONNX PTQ does (its `configure_ort` sets these same quantiser options). The graph it
  quantises is the fp16 graph, so whatever stays unquantised runs in fp16, or fp32 where the fp16 plan says.
- `CPU` (`*.int8-cpu.onnx`): unsigned asymmetric activations and signed per-channel weights on the fp32 graph,
  Q/DQ on the inputs of weighted ops. OpenVINO runs it fastest of the placements measured (demo resnet18, visible,
  96x48, batch 8, Intel Xeon with AMX: 5.0x ONNX Runtime fp32, its own bf16 3.3x). ONNX Runtime's CPU provider
  builds an integer kernel only from a DQ -> op -> Q group, so with the outputs float it runs each convolution
  in float on dequantised values (1.4x fp32 with 8-bit weights there); Q/DQ on the outputs too, with the Relu
  folded into them and both inputs of the skip adds quantised, measured 2.5-3.4x on ONNX Runtime and 4.7-5.0x
  on OpenVINO, but the layer search cannot yet put such a layer back in float (the folded Relu goes with it).
  Weights use 8 bits where the exporting CPU has VNNI (or AMX), 7 (`reduce_range`) elsewhere: on x86 CPUs
  without VNNI the u8 x s8 kernels add pairs of products in 16 bits, and with 8-bit weights those sums
  saturate (demo ResNet-50 infrared branch on an AMD EPYC without VNNI: cosine min 0.466 with 8-bit weights,
  0.947 with 7 bits, 0.946 for the same 8-bit graph emulated in float). With VNNI the sums are 32-bit and the
  eighth bit halves the weights' rounding for free. The manifest records the bits; a graph with 8-bit weights
  deployed on a CPU without VNNI fails the bench's parity there, so `auto` never picks it on such a machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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

    @property
    def op_types(self) -> list[str]:
        weighted = ["Conv", "Gemm", "MatMul"]
        return [*weighted, "Add"] if self.quantize_residual_adds else weighted

    def weight_reduce_range(self) -> bool:
        if self.reduce_range is not None:
            return self.reduce_range
        return not cpu_has_vnni()

    def ort_extra_options(self) -> dict[str, object]:
        return {
            "ActivationSymmetric": self.signed_activations,
            "WeightSymmetric": True,
            "QuantizeBias": False,
            "OpTypesToExcludeOutputQuantization": self.op_types,
            "QDQOpTypePerChannelSupportToAxis": {"Conv": 0},
            "DedicatedQDQPair": False,
        }


VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
"""Linux /proc/cpuinfo flags of x86 CPUs whose u8 x s8 dot products accumulate in 32 bits."""


def cpu_has_vnni(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True where the CPU reports one of `VNNI_FLAGS`; False where it does not, or where unknown."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith("flags") and any(f in line.split() for f in VNNI_FLAGS) for line in text.splitlines())


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
    reduce_range=None,
    quantize_residual_adds=False,
    emulate_on_cpu=False,
)

TARGETS: tuple[str, ...] = (TENSORRT.target, CPU.target)
"""Every int8 target, in registry order: what `--int8-targets` writes by default."""
