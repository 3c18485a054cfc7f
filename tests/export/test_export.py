"""`vireid export`: parity of every graph, the manifest, fp16 islands, int8 QDQ, the gate, robustness."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
import torch

from tests.helpers import randomised_run, tiny_model_config
from vireid.errors import VireidError
from vireid.io.rundir import load_config
from vireid.models import build_model
from vireid_export import branch as branch_makers
from vireid_export.fp16 import fp32_islands
from vireid_export.images import gather_images
from vireid_export.pipeline import ExportOptions, export_run
from vireid_export.precisions import BARS, REGISTRY
from vireid_export.tensorrt_check import check_for_tensorrt
from vireid_runtime.errors import ArtifactError
from vireid_runtime.manifest import MANIFEST_FILE, manifest_from_dict, read_manifest
from vireid_runtime.parity import cosine_rows

QUIET = {"log": lambda _message: None}


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])


@pytest.mark.slow
def test_resnet50_mgsa_msam_fp32_export_matches_torch(tmp_path: Path, synthetic_sysu: Path) -> None:
    """The paper's model at 288x144: both branches, random and generated images, dynamic batch 1 and 5."""
    run = randomised_run(
        tmp_path / "run", synthetic_sysu, backbone="resnet50", attention="mgsa+msam", height=288, width=144
    )
    art = tmp_path / "art"
    manifest = export_run(run, art, ExportOptions(gate_images=8, batches=(1, 5)), **QUIET)
    assert {a.file for a in manifest.artifacts} == {"visible.onnx", "infrared.onnx"}, "fp32 unless asked"
    from vireid.io.rundir import load_run

    _, model = load_run(run)
    generator = torch.Generator().manual_seed(1)
    for modality in ("visible", "infrared"):
        session = _session(art / f"{modality}.onnx")
        generated = gather_images(
            synthetic_sysu, modality, height=288, width=144, gate=5, screen=0, pool=0, calibration=0
        ).parity
        for batch in (torch.rand(1, 3, 288, 144, generator=generator), torch.from_numpy(generated)):
            with torch.no_grad():
                expected = model.branch(modality)(batch).numpy()
            actual = session.run(None, {"images": batch.numpy()})[0]
            assert actual.shape == expected.shape == (batch.shape[0], 1536)
            assert cosine_rows(expected, actual).min() >= 0.99999
        figures = manifest.find(modality, "fp32", "onnx").parity  # type: ignore[union-attr]
        assert figures is not None and figures.passed and figures.cos_min >= 0.99999


def test_manifest_round_trips_and_holds_the_parity_figures(demo_export: Path) -> None:
    manifest = read_manifest(demo_export)
    raw = json.loads((demo_export / MANIFEST_FILE).read_text())
    assert manifest_from_dict(raw) == manifest
    config = load_config(manifest.run_dir)
    assert (manifest.input.height, manifest.input.width) == (config.model.height, config.model.width)
    assert manifest.output.dim == config.model.parts * config.model.part_dim
    assert manifest.checkpoint.sha256 and manifest.tools["onnxruntime"]
    files = {a.file for a in manifest.artifacts}
    for modality in ("visible", "infrared"):
        assert {entry.file(modality) for entry in REGISTRY} <= files
    for artifact in manifest.artifacts:
        entry = next(e for e in REGISTRY if e.file(artifact.modality) == artifact.file)
        assert artifact.parity is not None and artifact.parity.passed
        assert artifact.parity.bar == BARS[artifact.precision] and artifact.parity.norms_ok
        assert artifact.backends == entry.backends and artifact.flavour == entry.flavour
        assert "evaluation-split" in artifact.parity_source
        assert (demo_export / artifact.file).stat().st_size == artifact.bytes
        if artifact.precision != "fp32":  # fp16 and int8 record the plan that made them
            assert artifact.plan is not None and artifact.plan.target is not None
            assert artifact.plan.candidates > 0 and artifact.plan.outcome
    int8 = manifest.find("infrared", "int8", "onnx", "ort-trt")
    assert int8 is not None and int8.plan is not None and int8.plan.calibration == "minmax"
    assert [score.method for score in int8.plan.calibration_scores] == ["minmax"]


def test_a_manifest_from_another_version_is_refused_in_one_line(demo_export: Path) -> None:
    raw = json.loads((demo_export / MANIFEST_FILE).read_text())
    changed = copy.deepcopy(raw)
    changed["artifacts"][0]["plan_v3"] = {}
    with pytest.raises(ArtifactError, match=r"artifacts\[0\] has unknown fields plan_v3; re-export"):
        manifest_from_dict(changed)
    changed = copy.deepcopy(raw)
    changed["format"] = "vireid-artifacts/1"
    with pytest.raises(ArtifactError, match="format 'vireid-artifacts/1' is not"):
        manifest_from_dict(changed)
    changed = copy.deepcopy(raw)
    del changed["artifacts"][0]["file"]
    with pytest.raises(ArtifactError, match=r"artifacts\[0\] is malformed"):
        manifest_from_dict(changed)


def test_fp16_graph_keeps_its_fp32_islands(demo_export: Path) -> None:
    manifest = read_manifest(demo_export)
    for modality in ("visible", "infrared"):
        plan = manifest.find(modality, "fp16", "onnx").plan  # type: ignore[union-attr]
        assert plan is not None
        report = fp32_islands(onnx.load(os.fspath(demo_export / f"{modality}.fp16.onnx")))
        assert report.islands_intact([layer.layer for layer in plan.kept]), report
        assert report.pows_total == 2 * 6  # GeM: x^p and ^(1/p) per part
        assert report.sigmoids_total > 0
    # the fp32 graph has no fp16 convolutions at all
    assert fp32_islands(onnx.load(os.fspath(demo_export / "visible.onnx"))).convs_fp16 == 0


def test_a_kept_convolution_applied_twice_is_one_kept_layer(tmp_path: Path) -> None:
    """CBAM's channel MLP runs on the average- and the max-pooled map: two Conv nodes share fc1's weights.
    Keeping fc1 in fp32 makes both fp32, and the island check must count it as the one layer it is."""
    from vireid_export.fp16 import mixed_precision_branch
    from vireid_export.onnx_graph import export_onnx

    model = build_model(tiny_model_config()).eval()
    kept = ["attention.channel.fc1"]
    path = tmp_path / "infrared.fp16.onnx"
    export_onnx(mixed_precision_branch(model, "infrared", kept), path, height=96, width=48)
    report = fp32_islands(onnx.load(os.fspath(path)))
    assert report.convs_fp32 == 2 and report.fp32_conv_layers == frozenset(kept), report
    assert report.islands_intact(kept) and not report.islands_intact([])


def test_int8_graphs_are_shaped_for_their_backends(demo_export: Path, synthetic_sysu: Path) -> None:
    manifest = read_manifest(demo_export)
    for modality in ("visible", "infrared"):
        spec = manifest.input
        images = gather_images(
            synthetic_sysu,
            modality,
            height=spec.height,
            width=spec.width,
            gate=24,
            screen=0,
            pool=0,
            calibration=0,
            seed=7,
        ).parity
        reference = _session(demo_export / f"{modality}.onnx").run(None, {"images": images})[0]
        for name in (f"{modality}.int8.onnx", f"{modality}.int8-cpu.onnx"):
            artifact = next(a for a in manifest.artifacts if a.file == name)
            assert artifact.plan is not None
            kept = {layer.node for layer in artifact.plan.kept}
            graph = onnx.load(os.fspath(demo_export / name))
            produced_by = {out: node for node in graph.graph.node for out in node.output}
            convs = [n for n in graph.graph.node if n.op_type == "Conv" and n.name not in kept]
            assert convs and all(produced_by[n.input[0]].op_type == "DequantizeLinear" for n in convs)
            assert all(produced_by[n.input[1]].op_type == "DequantizeLinear" for n in convs)
            zero_points = [i for i in graph.graph.initializer if i.name.endswith("_zero_point")]
            assert zero_points
            read_by: dict[str, set[str]] = {}
            for node in graph.graph.node:
                for tensor in node.input:
                    read_by.setdefault(tensor, set()).add(node.op_type)
            if name.endswith(".int8.onnx"):  # TensorRT flavour: symmetric int8, zero points 0, fp16 elsewhere
                assert all(len(n.input) < 3 or n.input[2] not in produced_by for n in convs), "biases stay float"
                assert all(z.data_type == onnx.TensorProto.INT8 for z in zero_points)
                assert all(not onnx.numpy_helper.to_array(z).any() for z in zero_points)
                check_for_tensorrt(graph, name)
                session = ort.InferenceSession(
                    os.fspath(demo_export / name), _emulated(), providers=["CPUExecutionProvider"]
                )
            else:  # CPU flavour: unsigned activations, int8 from layer to layer (outputs quantised too)
                activation_zero_points = [z for z in zero_points if z.data_type == onnx.TensorProto.UINT8]
                assert activation_zero_points
                if "inputs and outputs" in artifact.plan.placement.split(";")[0]:  # (a kept reader takes it back)
                    quantised_outputs = sum("QuantizeLinear" in read_by.get(n.output[0], set()) for n in convs)
                    assert quantised_outputs > len(convs) / 2, (name, quantised_outputs, len(convs))
                session = _session(demo_export / name)
            cosine = cosine_rows(reference, session.run(None, {"images": images})[0])
            bar = BARS["int8"]
            assert cosine.min() >= bar.cos_min and cosine.mean() >= bar.cos_mean, (name, cosine.min())


def _emulated() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    return options


def test_gate_fails_with_figures_when_parity_is_broken(
    tmp_path: Path, synthetic_sysu: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = randomised_run(tmp_path / "run", synthetic_sysu)
    real_export = branch_makers.export_onnx
    written: dict[str, bytes] = {}

    def export_perturbed(branch: torch.nn.Module, path: Path, **kwargs: object) -> None:
        if path.name in written:  # the second export gets the same broken graph without exporting it again
            path.write_bytes(written[path.name])
            return
        noisy = copy.deepcopy(branch)
        with torch.no_grad():  # the graph written now differs from the torch reference
            for parameter in noisy.parameters():
                parameter.add_(0.05 * torch.randn_like(parameter))
        real_export(noisy, path, **kwargs)  # type: ignore[arg-type]
        written[path.name] = path.read_bytes()

    monkeypatch.setattr(branch_makers, "export_onnx", export_perturbed)
    art = tmp_path / "art"
    with pytest.raises(VireidError) as info:
        export_run(run, art, ExportOptions(gate_images=8), **QUIET)
    message = str(info.value)
    assert "parity gate failed" in message and "visible.onnx" in message and "cosine min" in message
    assert not art.exists() and not list(tmp_path.glob(".art.partial-*"))
    # --no-verify writes it anyway, figures recorded as failing
    manifest = export_run(run, art, ExportOptions(gate_images=8, verify=False), **QUIET)
    assert not manifest.find("visible", "fp32", "onnx").parity.passed  # type: ignore[union-attr]


def test_robustness(tmp_path: Path, synthetic_sysu: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = randomised_run(tmp_path / "run", synthetic_sysu)
    with pytest.raises(VireidError, match="does not exist"):
        export_run(tmp_path / "missing", tmp_path / "a", ExportOptions(), **QUIET)
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.toml").write_text((run / "config.toml").read_text())
    with pytest.raises(VireidError, match="is missing"):
        export_run(partial, tmp_path / "a", ExportOptions(), **QUIET)
    (partial / "model.safetensors").write_bytes((run / "model.safetensors").read_bytes())
    config_text = (run / "config.toml").read_text()
    assert 'attention = "mgsa+msam"' in config_text
    (partial / "config.toml").write_text(config_text.replace('attention = "mgsa+msam"', 'attention = "none"'))
    with pytest.raises(VireidError, match="does not match the model"):
        export_run(partial, tmp_path / "a", ExportOptions(), **QUIET)
    with pytest.raises(VireidError, match="not writable"):
        export_run(run, Path("/proc/vireid-art"), ExportOptions(), **QUIET)

    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "old.txt").write_text("keep")
    with pytest.raises(VireidError, match="--force"):
        export_run(run, occupied, ExportOptions(gate_images=8), **QUIET)
    assert (occupied / "old.txt").read_text() == "keep"

    # An export interrupted half-way (visible.onnx written, infrared not yet), even with --force, leaves the old
    # folder as it was and no staging folder behind; staging and publishing themselves are
    # tests/io/test_atomic.py's.
    real_export = branch_makers.export_onnx
    written: list[Path] = []

    def interrupted(branch: torch.nn.Module, path: Path, **kwargs: object) -> None:
        if written:
            raise KeyboardInterrupt
        real_export(branch, path, **kwargs)  # type: ignore[arg-type]
        written.append(path)

    monkeypatch.setattr(branch_makers, "export_onnx", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_run(run, occupied, ExportOptions(gate_images=8, force=True), **QUIET)
    assert written and written[0].name == "visible.onnx", written
    assert [p.name for p in occupied.iterdir()] == ["old.txt"] and (occupied / "old.txt").read_text() == "keep"
    assert not list(tmp_path.glob(".occupied.*"))
