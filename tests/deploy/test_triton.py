"""`vireid deploy triton`: a repository Triton's own schema accepts, whose IO matches the graphs, and `--check`."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
import tritonclient.grpc.model_config_pb2 as pb
from google.protobuf import text_format
from typer.testing import CliRunner

from tests.helpers import artifact_copy
from vireid.cli.app import app
from vireid.deploy.repository import check_repository
from vireid_runtime import read_manifest


@pytest.fixture(scope="module")
def repo(demo_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("triton") / "repo"
    result = CliRunner().invoke(app, ["deploy", "triton", str(demo_export), "--out", str(out), "--kind", "cpu"])
    assert result.exit_code == 0, result.output
    return out


def _configs(repo: Path) -> dict[str, object]:
    return {
        folder.name: text_format.Parse((folder / "config.pbtxt").read_text(), pb.ModelConfig())
        for folder in sorted(repo.iterdir())
        if folder.is_dir()
    }


def test_every_model_parses_as_model_config_with_the_graph_io_and_the_batch_range(
    repo: Path, demo_export: Path
) -> None:
    manifest = read_manifest(demo_export)
    configs = _configs(repo)
    expected = {f"{m}-{p}" for m in ("visible", "infrared") for p in ("fp32", "fp16", "int8")}
    expected |= {f"{m}-{p}-openvino" for m in ("visible", "infrared") for p in ("fp32", "int8")}
    assert set(configs) == expected
    for name, config in configs.items():
        assert config.name == name  # type: ignore[attr-defined]
        assert config.max_batch_size == manifest.batch.max  # type: ignore[attr-defined]
        graph = onnx.load(str(repo / name / "1" / "model.onnx"), load_external_data=False).graph
        (declared_in,), (declared_out,) = config.input, config.output  # type: ignore[attr-defined]
        assert declared_in.name == graph.input[0].name and declared_out.name == graph.output[0].name
        dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:]
        assert list(declared_in.dims) == dims and declared_in.data_type == pb.TYPE_FP32
        assert list(declared_out.dims) == [manifest.output.dim]
        assert config.model_warmup[0].inputs["images"].zero_data  # type: ignore[attr-defined]
        kind = config.instance_group[0].kind  # type: ignore[attr-defined]
        assert kind == pb.ModelInstanceGroup.KIND_CPU
    assert configs["visible-int8"].platform == "onnxruntime_onnx"  # type: ignore[attr-defined]
    assert configs["visible-int8-openvino"].backend == "openvino"  # type: ignore[attr-defined]
    assert configs["visible-int8-openvino"].default_model_filename == "model.onnx"  # type: ignore[attr-defined]
    # the CPU instances' int8 model is the u8s8 graph, hard-linked or copied byte for byte
    linked = repo / "visible-int8" / "1" / "model.onnx"
    assert linked.read_bytes() == (demo_export / "visible.int8-cpu.onnx").read_bytes()
    assert check_repository(repo) == []
    readme = (repo / "README.md").read_text()
    assert "tritonserver --model-repository" in readme and "perf_analyzer -m" in readme
    assert "--input-data perf-visible.json" in readme


def test_gpu_instances_take_the_symmetric_int8_graph_and_the_tensorrt_accelerator_keeps_fp32(
    demo_export: Path, tmp_path: Path
) -> None:
    out = tmp_path / "gpu"
    args = ["deploy", "triton", str(demo_export), "--out", str(out), "--kind", "gpu", "--tensorrt-accelerator"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    config = _configs(out)["visible-int8"]
    assert (out / "visible-int8/1/model.onnx").read_bytes() == (demo_export / "visible.int8.onnx").read_bytes()
    (accelerator,) = config.optimization.execution_accelerators.gpu_execution_accelerator  # type: ignore[attr-defined]
    assert accelerator.name == "tensorrt" and accelerator.parameters["precision_mode"] == "FP32"
    assert config.instance_group[0].kind == pb.ModelInstanceGroup.KIND_GPU  # type: ignore[attr-defined]
    assert check_repository(out) == []


def test_the_perf_analyzer_input_decodes_to_the_declared_shape_and_dtype(repo: Path) -> None:
    config = _configs(repo)["infrared-fp32"]
    (declared,) = config.input  # type: ignore[attr-defined]
    assert declared.data_type == pb.TYPE_FP32
    document = json.loads((repo / "perf-infrared.json").read_text())
    assert len(document["data"]) >= 2
    for entry in document["data"]:
        tensor = entry[declared.name]
        assert tensor["shape"] == list(declared.dims)  # without the batch dimension, as perf_analyzer wants
        values = np.frombuffer(base64.b64decode(tensor["content"]["b64"]), dtype="<f4")
        image = values.reshape(tensor["shape"])
        assert image.min() >= 0.0 and image.max() <= 1.0 and image.std() > 0  # a real image in [0, 1]
        assert np.array_equal(image[0], image[1]) and np.array_equal(image[1], image[2])  # infrared: grey x 3


@contextlib.contextmanager
def _broken(repo: Path, tmp_path: Path, name: str) -> Iterator[Path]:
    """A copy of the repository to damage, removed after its check (each copy holds every model's graph)."""
    copy = artifact_copy(repo, tmp_path / name)
    try:
        yield copy
    finally:
        shutil.rmtree(copy)


def test_check_names_the_file_and_the_field_of_each_problem(repo: Path, tmp_path: Path) -> None:
    cases = {
        "dims": ("visible-fp32", lambda text: text.replace("dims: 3\n", "dims: 4\n", 1), r"input 'images': dims \[4,"),
        "field": ("visible-fp16", lambda text: text.replace("max_batch_size", "max_batchsize"), "max_batchsize"),
        "enum": ("infrared-int8", lambda text: text.replace("KIND_CPU", "KIND_TPU"), "KIND_TPU"),
    }
    for case, (model, edit, message) in cases.items():
        with _broken(repo, tmp_path, case) as broken:
            path = broken / model / "config.pbtxt"
            path.write_text(edit(path.read_text()))
            result = CliRunner().invoke(app, ["deploy", "triton", "--check", str(broken)])
        assert result.exit_code == 1, (case, result.output)
        (line,) = [line for line in result.output.splitlines() if line.strip()]
        assert str(path) in line and re.search(message, line), (case, line)
    with _broken(repo, tmp_path, "version") as broken:
        shutil.rmtree(broken / "infrared-fp32" / "1")
        result = CliRunner().invoke(app, ["deploy", "triton", "--check", str(broken)])
    assert result.exit_code == 1 and "infrared-fp32: no version folder such as 1/" in result.output, result.output
    with _broken(repo, tmp_path, "corrupt") as broken:
        graph = broken / "visible-fp32" / "1" / "model.onnx"
        graph.unlink()  # a linked graph: replace it, never write into it
        graph.write_bytes(b"not onnx")
        result = CliRunner().invoke(app, ["deploy", "triton", "--check", str(broken)])
    assert result.exit_code == 1 and "not a readable ONNX graph" in result.output and "Traceback" not in result.output
    with _broken(repo, tmp_path, "platform") as broken:
        path = broken / "infrared-fp16" / "config.pbtxt"
        path.write_text(path.read_text().replace("onnxruntime_onnx", "onnxruntime_onx"))
        result = CliRunner().invoke(app, ["deploy", "triton", "--check", str(broken)])
    assert result.exit_code == 1 and f"{path}: platform 'onnxruntime_onx'" in result.output, result.output
    ok = CliRunner().invoke(app, ["deploy", "triton", "--check", str(repo)])
    assert ok.exit_code == 0 and "matches its graph" in ok.output


def test_bad_input_is_one_line_and_a_non_empty_out_is_kept(demo_export: Path, tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "mine.txt").write_text("keep me")
    cases = [
        (["deploy", "triton", str(tmp_path), "--out", str(tmp_path / "r")], "no manifest.json"),
        (["deploy", "triton", str(demo_export), "--out", str(occupied)], "--force"),
        (["deploy", "triton", str(demo_export), "--out", str(tmp_path / "r"), "--kind", "tpu"], "--kind"),
        (["deploy", "triton", "--check", str(tmp_path / "nowhere")], "is not a folder"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output, result.output
    assert (occupied / "mine.txt").read_text() == "keep me" and not (tmp_path / "r").exists()
