"""The precision registry: every graph `vireid export` can write, in one place (docs/architecture.md).

Each entry says which `--precision` asks for it, its file, the bar its gate holds it to, how it is made, which
backends run it (from the runtime's backend registry, recorded in manifest.json), whether TensorRT consumes
it (then `tensorrt_check` vets it and `--engine trt` builds a plan from it), and how the gate runs it on the
CPU. A new precision or flavour is one entry here and one maker in `branch.py`.

Entries are in dependency order: each graph's base is made before it (fp16 before the TensorRT int8 graph).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vireid.errors import VireidError
from vireid_export.branch import Maker, int8_maker, make_fp16, make_fp32
from vireid_export.int8 import flavours
from vireid_export.int8.flavours import Int8Flavour
from vireid_runtime.backends import backends_for
from vireid_runtime.manifest import PRECISIONS
from vireid_runtime.parity import BARS, Bar


@dataclass(frozen=True)
class PrecisionSpec:
    key: str
    precision: str
    """The `--precision` value that asks for it: fp32, fp16 or int8."""
    suffix: str
    made_by: str
    for_tensorrt: bool
    make: Maker
    int8: Int8Flavour | None = None
    """For an int8 graph, its flavour: the one record its base graph, its gate's arithmetic, its target and its
    backends' flavour name come from, so that the search and the gate cannot judge different arithmetic."""

    @property
    def flavour(self) -> str:
        return self.int8.name if self.int8 else ""

    @property
    def emulate_qdq(self) -> bool:
        """The gate runs its Q/DQ emulated (what a GPU computes), not through the CPU's integer kernels."""
        return self.int8.emulate_on_cpu if self.int8 else False

    @property
    def base(self) -> str:
        """The registry key of the graph it is made from ("" for a graph made from torch)."""
        return self.int8.base if self.int8 else ""

    @property
    def int8_target(self) -> str:
        """For an int8 graph, the target its flavour is for ("tensorrt" or "cpu", `--int8-targets`)."""
        return self.int8.target if self.int8 else ""

    @property
    def bar(self) -> Bar:
        return BARS[self.precision]

    @property
    def backends(self) -> tuple[str, ...]:
        """The ONNX backends that run this graph (from the runtime's backend registry, recorded in the manifest)."""
        return backends_for("onnx", self.precision, self.flavour)

    def file(self, modality: str) -> str:
        return f"{modality}{self.suffix}"


def _int8(key: str, flavour: Int8Flavour, made_by: str) -> PrecisionSpec:
    return PrecisionSpec(
        key=key,
        precision="int8",
        suffix=f".{key}.onnx",
        made_by=made_by,
        for_tensorrt=flavour.target == flavours.TENSORRT.target,
        make=int8_maker(flavour),
        int8=flavour,
    )


REGISTRY: tuple[PrecisionSpec, ...] = (
    PrecisionSpec(
        key="fp32",
        precision="fp32",
        suffix=".onnx",
        made_by="the torch branch through the dynamo exporter; the reference every other graph is judged against",
        for_tensorrt=True,
        make=make_fp32,
    ),
    PrecisionSpec(
        key="fp16",
        precision="fp16",
        suffix=".fp16.onnx",
        made_by="BatchNorm folded in fp32, convolutions in fp16 except those the magnitude rule or the measured "
        "search keeps fp32; GeM, attention gates and normalisations fp32",
        for_tensorrt=True,
        make=make_fp16,
    ),
    _int8(
        "int8",
        flavours.TENSORRT,
        "the fp16 graph with symmetric Q/DQ on weighted-op inputs and skip-add residuals, biases float, ranges "
        "from the screened training images and float layers chosen by measurement",
    ),
    _int8(
        "int8-cpu",
        flavours.CPU,
        "the fp32 graph with u8 activations and s8 per-channel weights (7 bits on CPUs without VNNI) for ONNX "
        "Runtime's and OpenVINO's integer kernels, ranges from the screened training images and float layers "
        "chosen by measurement",
    ),
)


def spec(key: str) -> PrecisionSpec:
    for entry in REGISTRY:
        if entry.key == key:
            return entry
    raise KeyError(key)


def check_int8_targets(targets: Sequence[str]) -> None:
    unknown = [t for t in targets if t not in flavours.TARGETS]
    if unknown or not targets:
        raise VireidError(
            f"--int8-targets takes a comma-separated subset of {','.join(flavours.TARGETS)}, got {','.join(targets)}"
        )


def graphs_for(precisions: Sequence[str], int8_targets: Sequence[str] = flavours.TARGETS) -> list[PrecisionSpec]:
    """The graphs an export of `precisions` writes: the asked ones (int8 in the flavours of `int8_targets`),
    fp32 always, and every base they need."""
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown or not precisions:
        raise VireidError(
            f"--precision takes a comma-separated subset of {','.join(PRECISIONS)}, got {','.join(precisions)}"
        )
    check_int8_targets(int8_targets)
    wanted = {
        entry.key
        for entry in REGISTRY
        if entry.key == "fp32"
        or (entry.precision in precisions and (not entry.int8_target or entry.int8_target in int8_targets))
    }
    for entry in reversed(REGISTRY):
        if entry.key in wanted and entry.base:
            wanted.add(entry.base)
    return [entry for entry in REGISTRY if entry.key in wanted]


def tensorrt_source(precision: str) -> PrecisionSpec:
    """The graph a TensorRT plan of `precision` is built from."""
    return next(entry for entry in REGISTRY if entry.precision == precision and entry.for_tensorrt)
