"""`--int8-targets`: an export writes the int8 graphs of the targets it is asked for, and what consumes a
manifest with one int8 flavour says what is missing instead of failing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vireid.deploy.triton import TritonOptions, repository_models
from vireid.errors import VireidError
from vireid_export.int8 import flavours
from vireid_export.pipeline import ExportOptions
from vireid_export.precisions import graphs_for
from vireid_runtime import read_manifest


@pytest.mark.parametrize(
    ("precisions", "targets", "keys"),
    [
        (("fp32", "int8"), flavours.TARGETS, ["fp32", "fp16", "int8", "int8-cpu"]),
        (("fp32", "int8"), ("cpu",), ["fp32", "int8-cpu"]),  # no fp16: only the TensorRT graph is made from it
        (("fp32", "int8"), ("tensorrt",), ["fp32", "fp16", "int8"]),
        (("fp32", "fp16", "int8"), ("cpu",), ["fp32", "fp16", "int8-cpu"]),
        (("fp32",), ("cpu",), ["fp32"]),
    ],
)
def test_the_graphs_follow_the_int8_targets(
    precisions: tuple[str, ...], targets: tuple[str, ...], keys: list[str]
) -> None:
    assert [entry.key for entry in graphs_for(precisions, targets)] == keys


def test_an_unknown_or_empty_target_and_trt_without_its_graph_are_one_line_errors() -> None:
    with pytest.raises(VireidError, match="--int8-targets takes a comma-separated subset of tensorrt,cpu, got gpu"):
        graphs_for(("fp32", "int8"), ("gpu",))
    with pytest.raises(VireidError, match="--int8-targets"):
        ExportOptions(precisions=("fp32", "int8"), int8_targets=())
    with pytest.raises(VireidError, match="add tensorrt to --int8-targets"):
        ExportOptions(engine="trt", precisions=("fp32", "int8"), int8_targets=("cpu",))
    ExportOptions(engine="trt", precisions=("fp32", "fp16"), int8_targets=("cpu",))  # no int8 plan asked: fine


def test_triton_leaves_out_the_int8_model_whose_flavour_was_not_exported(demo_export: Path) -> None:
    full = read_manifest(demo_export)
    cpu_only = dataclasses.replace(
        full, artifacts=tuple(a for a in full.artifacts if a.flavour != flavours.TENSORRT.name)
    )
    gpu_models, gpu_left_out = repository_models(cpu_only, TritonOptions(kind="gpu"))
    assert "visible-int8" not in {m.name for m in gpu_models} and "visible-fp32" in {m.name for m in gpu_models}
    assert any(line.startswith("visible int8 on onnxruntime: no int8 onnx") for line in gpu_left_out), gpu_left_out
    assert all("\n" not in line for line in gpu_left_out)
    cpu_models, _ = repository_models(cpu_only, TritonOptions(kind="cpu"))
    assert {"visible-int8", "visible-int8-openvino"} <= {m.name for m in cpu_models}
