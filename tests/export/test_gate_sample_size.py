"""A class of images that int8 breaks (overexposed infrared) is caught by the whole-split gate and fixed by the search.

The generated tree is made so: its infrared frames are dim (pixels scaled to 45 %), except two evaluation images
and three training images that are overexposed (near white), as active-infrared cameras film people up close.
Calibrated on dim training images only, as a random draw of them usually is, the int8 graph clips the
overexposed frames' range at the stem and they fall far below the bar, while every dim image stays near 1. A
random 32-image gate that misses the two passes that graph; the whole evaluation split refuses it. The export
(ranges from every screened training image, methods compared on every screened image, the gate on every
evaluation image) passes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from tests.helpers import randomise_batchnorm, tiny_model_config
from vireid.config import DataConfig, RunConfig
from vireid.data.sample import Sample
from vireid.eval.splits import evaluation_split, training_images
from vireid.io.rundir import save_run
from vireid.models import build_model
from vireid_export.branch import SearchOptions
from vireid_export.images import _batch, _pick
from vireid_export.int8.calibration import calibrate, method_named
from vireid_export.int8.flavours import CPU
from vireid_export.int8.placement import quantizable_nodes
from vireid_export.int8.quantize import prepare, quantize_graph
from vireid_export.onnx_graph import export_onnx
from vireid_export.ort_cpu import cpu_session, session_embed
from vireid_export.pipeline import ExportOptions, export_run
from vireid_runtime.parity import BARS, cosine_rows

MINMAX = method_named("minmax")


def _rewrite(sample: Sample, overexposed: bool) -> None:
    grey = np.asarray(Image.open(sample.path).convert("L"), dtype=np.float32) / 255
    value = 1 - (1 - grey) * 0.1 if overexposed else grey * 0.45
    Image.fromarray(np.round(value * 255).astype(np.uint8)).convert("RGB").save(sample.path)


@pytest.fixture(scope="module")
def overexposed_tree(synthetic_sysu: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Sample]]:
    """The tree and the random 32-image gate draw that misses its two overexposed evaluation images."""
    root = tmp_path_factory.mktemp("overexposed") / "sysu"
    shutil.copytree(synthetic_sysu, root)
    evaluation = evaluation_split(root, 1).images("infrared")
    training = training_images(root, "infrared", 1)
    gate = _pick(evaluation, 32, 0)  # the old gate's draw
    overexposed = {*[s for s in evaluation if s not in gate][:2], *training[:3]}
    for sample in {*evaluation, *training}:
        _rewrite(sample, sample in overexposed)
    return root, gate


def _run(root: Path, data: Path) -> Path:
    torch.manual_seed(0)
    model = build_model(tiny_model_config()).eval()
    randomise_batchnorm(model)
    save_run(root, RunConfig(model=model.config, data=DataConfig(root=str(data))), model)
    return root


def test_a_random_gate_passes_what_the_whole_split_refuses(
    overexposed_tree: tuple[Path, list[Sample]], tmp_path: Path
) -> None:
    root, gate = overexposed_tree
    run = _run(tmp_path / "run", root)
    from vireid.io.rundir import load_run

    _, model = load_run(run, "final")
    fp32, prepared = tmp_path / "infrared.onnx", tmp_path / "prepared.onnx"
    export_onnx(model.branch("infrared"), fp32, height=96, width=48)
    prepare(fp32, prepared)
    dim_training = training_images(root, "infrared", 1)[3:]  # a calibration draw without the overexposed
    calibration = _batch(_pick(dim_training, 16, 1), 96, 48)
    ranges = tmp_path / "ranges.json"
    calibrate(prepared, MINMAX, [calibration[:8], calibration[8:]], CPU.op_types, ranges, symmetric=False)
    nodes = quantizable_nodes(onnx.load(prepared).graph, CPU.quantize_residual_adds, CPU.quantize_outputs)
    quantized = quantize_graph(prepared, CPU, MINMAX, ranges, nodes)

    evaluation = evaluation_split(root, 1).images("infrared")
    images = _batch(evaluation, 96, 48)
    cosine = cosine_rows(session_embed(cpu_session(fp32), images), session_embed(cpu_session(quantized), images))
    bar = BARS["int8"]
    in_gate = np.array([evaluation.index(s) for s in gate])
    assert cosine[in_gate].min() >= bar.cos_min, "the random 32-image gate passes it"
    assert cosine.min() < bar.cos_min, "the whole split refuses it"
    below = np.flatnonzero(cosine < bar.cos_min)
    assert len(below) == 2 and not set(below) & set(in_gate), "exactly the two overexposed images fail"


def test_the_export_finds_them_and_passes_on_every_evaluation_image(
    overexposed_tree: tuple[Path, list[Sample]], tmp_path: Path
) -> None:
    root, _gate = overexposed_tree
    run = _run(tmp_path / "run", root)
    options = ExportOptions(
        precisions=("int8",),
        int8_targets=("cpu",),
        calib_count=16,
        search_pool=32,
        screen_count=400,
        search=SearchOptions(methods=(MINMAX, method_named("percentile 99.99"))),
    )
    manifest = export_run(run, tmp_path / "art", options, log=lambda _message: None)
    artifact = manifest.find("infrared", "int8", "onnx", "ort-cpu")
    assert artifact is not None and artifact.parity is not None and artifact.plan is not None
    every = len(evaluation_split(root, 1).images("infrared"))
    assert artifact.parity.images == every and artifact.parity_source.count(f"all {every} evaluation images")
    assert artifact.parity.passed and artifact.parity.below == 0, artifact.parity.describe()
    assert manifest.checkpoint.weights == "final", "the run kept no best epoch: the manifest says what it exported"
    scores = {score.method: score for score in artifact.plan.calibration_scores}
    assert set(scores) == {"minmax", "percentile 99.99"}, "both methods judged on every screened image"
    target = artifact.plan.target
    assert target is not None
    best = max(scores.values(), key=lambda score: target.margin(score.cos_min, score.cos_mean))
    assert artifact.plan.calibration == best.method, "the method whose worst image stays closest wins"
