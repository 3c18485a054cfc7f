"""`vireid deploy deepstream`: the tracker's ReID section, field by field from the manifest, loadable as YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.helpers import artifact_copy
from vireid.cli.app import app
from vireid_runtime import read_manifest


def _load(path: Path) -> dict[str, object]:
    """The YAML body. DeepStream's tracker configs open with OpenCV's `%YAML:1.0` directive, which yaml-cpp
    accepts and PyYAML does not, so the test checks the directive and parses what follows it."""
    text = path.read_text()
    first, body = text.split("\n", 1)
    assert first == "%YAML:1.0"
    return yaml.safe_load(body)  # type: ignore[no-any-return]


@pytest.mark.parametrize("branch", ["visible", "infrared"])
@pytest.mark.parametrize(("precision", "mode", "file"), [("fp32", 0, "{b}.onnx"), ("int8", 2, "{b}.int8.onnx")])
def test_fields_equal_the_manifest_and_the_network_mode_follows_the_precision(
    demo_export: Path, tmp_path: Path, branch: str, precision: str, mode: int, file: str
) -> None:
    out = tmp_path / "ds"
    args = ["deploy", "deepstream", str(demo_export), "--branch", branch, "--out", str(out), "--precision", precision]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = read_manifest(demo_export)
    spec, pre = manifest.input, manifest.input.preprocessing
    reid = _load(out / f"config_tracker_reid_{branch}.yml")["ReID"]
    assert reid == {  # type: ignore[comparison-overlap]
        "reidType": 2,
        "batchSize": manifest.batch.opt,
        "workspaceSize": 1000,
        "reidFeatureSize": manifest.output.dim,
        "reidHistorySize": 100,
        "inferDims": [3, spec.height, spec.width],
        "networkMode": mode,  # the tracker's convention: fp32 0, fp16 1, int8 2
        "inputOrder": 0,
        "colorFormat": 0,
        "offsets": [0.0, 0.0, 0.0],
        "netScaleFactor": pytest.approx(1 / 255),
        "keepAspc": 0,
        "addFeatureNormalization": 0,
        "onnxFile": file.format(b=branch),  # int8: the symmetric graph TensorRT consumes
    }
    assert pre.pixel_scale == pytest.approx(1 / 255) and pre.normalised_in_graph
    assert (out / file.format(b=branch)).read_bytes() == (demo_export / file.format(b=branch)).read_bytes()
    text = (out / f"config_tracker_reid_{branch}.yml").read_text()
    assert "camera" in text and ("infrared camera" in text)  # the comment on which camera takes which branch


def test_a_plan_is_preferred_when_present(demo_export: Path, tmp_path: Path) -> None:
    art = artifact_copy(demo_export, tmp_path / "art")
    (art / "visible.fp16.plan").write_bytes(b"plan")
    values = json.loads((art / "manifest.json").read_text())
    source = next(a for a in values["artifacts"] if a["file"] == "visible.fp16.onnx")
    values["artifacts"].append(
        {**source, "format": "plan", "file": "visible.fp16.plan", "bytes": 4, "flavour": "", "backends": ["trt"]}
    )
    (art / "manifest.json").write_text(json.dumps(values))
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        app, ["deploy", "deepstream", str(art), "--branch", "visible", "--precision", "fp16", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    reid = _load(out / "config_tracker_reid_visible.yml")["ReID"]
    assert reid["modelEngineFile"] == "visible.fp16.plan"  # type: ignore[index]
    assert reid["onnxFile"] == "visible.fp16.onnx"  # type: ignore[index]  # to rebuild where the plan cannot load
    assert reid["networkMode"] == 1  # type: ignore[index]
    assert (out / "visible.fp16.plan").read_bytes() == b"plan" and (out / "visible.fp16.onnx").is_file()


def test_bad_input_is_one_line(demo_export: Path, tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    base = ["deploy", "deepstream"]
    cases = [
        ([*base, str(tmp_path), "--branch", "visible", "--out", str(tmp_path / "o")], "no manifest.json"),
        ([*base, str(demo_export), "--branch", "thermal", "--out", str(tmp_path / "o")], "--branch"),
        ([*base, str(demo_export), "--branch", "visible", "--out", str(occupied)], "--force"),
        (
            [*base, str(demo_export), "--branch", "visible", "--out", str(tmp_path / "o"), "--batch-size", "999"],
            "range",
        ),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output, result.output
    assert not (tmp_path / "o").exists()
