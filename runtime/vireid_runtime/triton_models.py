"""What a Triton model of one branch is called and what it takes: one definition for the three that must agree.

`vireid deploy triton` writes a repository for NGC's `tritonserver`, `vireid-triton-host` serves the runtime's own
embedders through PyTriton, and the `triton` backend is the client of both (docs/architecture.md, "Deployment").
A client written against one works against the other only if all three name the model, its tensors, their dims
and the batching the same way, so they all read it from here:
- the model is `{branch}-{precision}` (`visible-fp32`, `infrared-int8`); a backend's own mode of a graph keeps
  its mode's name (`visible-bf16` is OpenVINO's bf16 on the fp32 graph), so a name never hides what is computed;
- one FP32 input and one FP32 output, named as the manifest names them, dims without the batch dimension;
- `max_batch_size` is the export's largest batch, and dynamic batching prefers the batch sizes the export was
  profiled for above 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from vireid_runtime.manifest import BatchRange, Manifest

DATATYPE = "FP32"
"""Triton's name for float32, the one dtype the branches take and give."""


def model_name(modality: str, precision: str) -> str:
    return f"{modality}-{precision}"


def preferred_batch_sizes(batch: BatchRange) -> list[int]:
    """The batch sizes dynamic batching should aim for: the export's optimum and maximum, above 1."""
    return sorted({size for size in (batch.opt, batch.max) if size > 1})


@dataclass(frozen=True)
class ModelShape:
    """A branch as a Triton model sees it (the same for both branches of an export)."""

    input_name: str
    input_dims: tuple[int, ...]
    """Without the batch dimension: channels, height, width."""
    output_name: str
    output_dims: tuple[int, ...]
    max_batch_size: int

    def describe(self) -> str:
        dims = ", ".join(str(d) for d in self.input_dims)
        return (
            f"input {self.input_name!r} {DATATYPE} [-1, {dims}], output {self.output_name!r} {DATATYPE} "
            f"[-1, {self.output_dims[0]}], max_batch_size {self.max_batch_size}"
        )


def model_shape(manifest: Manifest) -> ModelShape:
    spec = manifest.input
    return ModelShape(
        input_name=spec.name,
        input_dims=(spec.channels, spec.height, spec.width),
        output_name=manifest.output.name,
        output_dims=(manifest.output.dim,),
        max_batch_size=manifest.batch.max,
    )
