"""How fast a CPU int8 graph runs on the engines that will run it: ONNX Runtime's CPU provider and OpenVINO.

The CPU flavour has two placements (`flavours.py`). Which is faster depends on how many layers the search had to
keep in float: with Q/DQ on the outputs too, ONNX Runtime runs the residual trunk in integer kernels (2.9x its
fp32 on the demo resnet18 with one head layer kept, Intel Xeon with AMX), but each float layer in the trunk then
costs a dequantise / quantise round trip (1.2x with 14 kept, where the inputs-only placement ran 1.5x). So when
both were searched, each result is timed here, side by side in one process, engines taking turns, and the faster
one ships. OpenVINO is timed where it is installed; the score is the geometric mean over the engines of the
speed against the first candidate.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx

from vireid_export.ort_cpu import cpu_session
from vireid_runtime.manifest import INPUT_NAME

Run = Callable[[], object]


def _ort(model: onnx.ModelProto, batch: np.ndarray) -> Run:
    session = cpu_session(model, spinning=False)  # sessions take turns: idle ones must sleep
    return lambda: session.run(None, {INPUT_NAME: batch})  # type: ignore[attr-defined]


def _openvino(model: onnx.ModelProto, batch: np.ndarray, folder: Path) -> Run | None:
    """An OpenVINO request for `model`, compiled from a file: OpenVINO may keep pointing into the buffer it read
    a model from, so a file outlives the compilation where a bytes object need not (a crash seen in the suite)."""
    try:
        import openvino
    except ImportError:
        return None
    path = folder / f"candidate-{len(list(folder.iterdir()))}.onnx"
    onnx.save(model, os.fspath(path))
    compiled = openvino.Core().compile_model(
        os.fspath(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    )
    request = compiled.create_infer_request()
    return lambda: request.infer({0: batch})


def relative_speeds(models: list[onnx.ModelProto], batch: np.ndarray, runs: int = 20, warmup: int = 3) -> list[float]:
    """Per model, its speed relative to the first (geometric mean over the engines), medians of `runs` runs."""
    with tempfile.TemporaryDirectory(prefix="vireid-int8-speed-") as folder:
        engines = {"onnxruntime": [_ort(m, batch) for m in models]}
        openvino_runs = [_openvino(m, batch, Path(folder)) for m in models]
        if all(run is not None for run in openvino_runs):
            engines["openvino"] = [run for run in openvino_runs if run is not None]
        return _score(engines, len(models), runs, warmup)


def _score(engines: dict[str, list[Run]], count: int, runs: int, warmup: int) -> list[float]:
    scores = np.ones(count)
    for candidates in engines.values():
        for _ in range(warmup):
            for run in candidates:
                run()
        times: list[list[float]] = [[] for _ in candidates]
        for _ in range(runs):
            for index, run in enumerate(candidates):
                start = time.perf_counter()
                run()
                times[index].append(time.perf_counter() - start)
        medians = np.array([np.median(t) for t in times])
        scores *= medians[0] / medians
    return list(scores ** (1.0 / len(engines)))
