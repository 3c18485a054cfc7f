"""The fp16 and int8 searches keep exactly the layer that was made fragile on purpose, and the export passes;
the int8 search ranks it first in one run and needs at most log2(L) + 4 graphs for L layers.

Each test breaks one layer of a tiny random-weight model in a way float32 does not notice, then searches: the
plan must list that layer and only it, in the branches that contain it. The int8 test exports (its search runs
on the ONNX graphs, and the plan must reach manifest.json); the fp16 search runs in torch, so its tests call it
directly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import randomise_batchnorm, tiny_model_config
from vireid.config import DataConfig, RunConfig
from vireid.io.rundir import save_run
from vireid.models import TwoStreamReID, build_model
from vireid_export import defaults, fp16_search
from vireid_export.branch import SearchOptions
from vireid_export.fp16 import mixed_precision_branch
from vireid_export.images import gather_images
from vireid_export.int8.calibration import method_named
from vireid_export.pipeline import ExportOptions, export_run
from vireid_export.precisions import BARS
from vireid_runtime.manifest import read_manifest
from vireid_runtime.parity import cosine_rows

QUIET = {"log": lambda _message: None}
QUICK = {
    "calib_count": 16,
    "search_pool": 32,
    "screen_count": 64,
    "search": SearchOptions(search_images=16, methods=(method_named("percentile 99.99"),)),
}


def _model() -> TwoStreamReID:
    torch.manual_seed(0)
    model = build_model(tiny_model_config()).eval()
    randomise_batchnorm(model)
    return model


def _save(root: Path, data: Path, model: TwoStreamReID) -> Path:
    save_run(root, RunConfig(model=model.config, data=DataConfig(root=str(data))), model)
    return root


def _break_int8(model: TwoStreamReID) -> str:
    """Visible stem.layer1.0.conv2: one of its input channels is dead (always 0 after the ReLU) and carries
    weights 50 times the others. float32 never sees them; per-channel int8 scales stretch to them, and every
    other weight of the layer rounds to -2..2."""
    block = model.visible_stem.layer1[0]
    with torch.no_grad():
        block.bn1.weight[0], block.bn1.bias[0] = 0.0, -10.0
        block.conv2.weight[:, 0] = 50.0 * block.conv2.weight.abs().max()
    return "stem.layer1.0.conv2"


def _break_fp16(model: TwoStreamReID) -> str:
    """head.reductions.2 (shared by both branches): its BatchNorm scales the part's features by 1e6, beyond
    fp16's 65504. In float32 that part simply dominates the normalised embedding; in fp16 it overflows to inf."""
    with torch.no_grad():
        bn = model.head.reductions[2][1]
        bn.weight.mul_(1e6)
        bn.bias.mul_(1e6)
    return "head.reductions.2.0"


def test_int8_search_keeps_exactly_the_fragile_convolution(tmp_path: Path, synthetic_sysu: Path) -> None:
    model = _model()
    fragile = _break_int8(model)
    run = _save(tmp_path / "run", synthetic_sysu, model)
    manifest = export_run(run, tmp_path / "art", ExportOptions(precisions=("int8",), **QUICK), **QUIET)  # type: ignore[arg-type]
    for artifact in manifest.artifacts:
        assert artifact.parity is not None and artifact.parity.passed, artifact.file
        if artifact.precision != "int8":
            continue
        assert artifact.plan is not None
        kept = [layer.layer for layer in artifact.plan.kept]
        plan = artifact.plan
        if artifact.modality == "visible":
            assert kept == [fragile], (artifact.file, kept)
            assert plan.ranking[0].layer == fragile, "one run of the float twins ranks the fragile layer first"
            # One ranking run, a bisection over the ranked layers, one check on every screened image: a few
            # graphs, where measuring each layer alone took one graph per layer.
            layers = len(plan.ranking)
            assert 0 < plan.measurements <= math.log2(layers) + 4, (artifact.file, plan.measurements, layers)
        else:
            assert kept == [], (artifact.file, kept)
    reread = read_manifest(tmp_path / "art").find("visible", "int8", "onnx", "ort-cpu")
    assert reread is not None and reread.plan is not None and reread.plan.kept[0].layer == fragile


def test_fp16_magnitude_rule_keeps_the_overflowing_layer(synthetic_sysu: Path) -> None:
    model = _model()
    fragile = _break_fp16(model)
    images = np.random.default_rng(0).random((4, 3, 96, 48), dtype=np.float32)
    with torch.no_grad():
        reference = model.branch("visible")(torch.from_numpy(images)).numpy()
        all_fp16 = mixed_precision_branch(model, "visible")(torch.from_numpy(images)).numpy()
    assert cosine_rows(reference, all_fp16).max() < 0.9, "the layer really breaks in fp16"
    plan = fp16_search.plan_fp16(model, "visible", images, BARS["fp16"], budget_s=60, log=lambda _m: None)
    assert [layer.layer for layer in plan.kept] == [fragile]
    assert "magnitude rule" in plan.kept[0].reason and plan.sensitivity == ()


def test_fp16_search_keeps_the_layer_whose_fp16_arithmetic_fails(
    synthetic_sysu: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the magnitude rule out of the way, the measured search alone must find the layer. The search runs in
    torch (`plan_fp16`), on the calibration draw the export gives it; the export's own wiring of a kept fp32
    island into the graph and its gate are `test_export.py`'s (the fixture's infrared fp16 graph keeps one)."""
    model = _model()
    fragile = _break_fp16(model)
    monkeypatch.setattr(fp16_search, "DATA_MAX", float("inf"))
    target = BARS["fp16"].tightened(defaults.SEARCH_MARGIN)
    config = model.config
    for modality in ("visible", "infrared"):  # the PCB head is shared, so both branches keep it, and nothing else
        size = {"height": config.height, "width": config.width}
        draw = {"gate": 8, "screen": 64, "pool": 32, "calibration": 16}  # the QUICK export's draw
        images = gather_images(synthetic_sysu, modality, **size, **draw).calibration  # type: ignore[arg-type]
        plan = fp16_search.plan_fp16(model, modality, images, target, budget_s=60, log=lambda _m: None)
        assert [layer.layer for layer in plan.kept] == [fragile], modality
        assert plan.sensitivity[0].layer == fragile and "fp16 alone costs" in plan.kept[0].reason
        with torch.no_grad():
            reference = model.branch(modality)(torch.from_numpy(images)).numpy()
            kept = mixed_precision_branch(model, modality, [fragile])(torch.from_numpy(images)).float().numpy()
        assert cosine_rows(reference, kept).min() >= BARS["fp16"].cos_min, "keeping it restores parity"
