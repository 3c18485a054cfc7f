"""The int8 activation ranges cover every screened training image, not only the pool or a calibration draw.

On the demo ResNet-50, ranges drawn from 64 images clipped activations that unseen people reach, and a graph
searched to hold on every training image failed the gate on evaluation images (`int8/search.py`). Here one
screened image, kept out of the pool on purpose, is far brighter than every other: the range of the graph's
input must still reach its brightest pixel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch

from tests.helpers import TINY_HEIGHT, TINY_WIDTH, randomise_batchnorm, tiny_model_config
from vireid.models import build_model
from vireid_export.int8.flavours import CPU
from vireid_export.int8.ranges import activation_ranges, tensor_maxima
from vireid_export.int8.search import Int8Job, quantize_branch
from vireid_export.onnx_graph import export_onnx
from vireid_export.ort_cpu import cpu_session, session_embed
from vireid_runtime.parity import Bar


def test_the_ranges_reach_the_brightest_screened_image_outside_the_pool(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(tiny_model_config()).eval()
    randomise_batchnorm(model)
    fp32 = tmp_path / "infrared.onnx"
    export_onnx(model.branch("infrared"), fp32, height=TINY_HEIGHT, width=TINY_WIDTH)
    rng = np.random.default_rng(0)
    training = rng.normal(0.0, 0.3, (24, 3, TINY_HEIGHT, TINY_WIDTH)).astype(np.float32)
    training[-1] += 4.0  # the bright one
    pool = np.arange(16)  # the bright image is not in it
    job = Int8Job(
        base_onnx=fp32,
        flavour=CPU,
        training=training,
        reference=session_embed(cpu_session(fp32), training),
        pool_rows=pool,
        target=Bar(0.0, 0.0),  # any graph meets it: this test is about the ranges, not the layers kept
        budget_s=60,
        batch=8,
    )
    quantized, plan = quantize_branch(job)
    assert plan.calibration == "minmax" and not plan.kept
    tensor, reach = next(iter(activation_ranges(quantized).items()))  # the normalised image, before the stem
    highest = tensor_maxima(onnx.load(fp32), [tensor], training)[:, 0]
    assert int(np.argmax(highest)) == len(training) - 1
    assert reach >= highest[-1] * 0.999, "the brightest screened image is not clipped"
    assert reach > highest[pool].max() * 1.5, "the range is wider than the pool alone would give"
