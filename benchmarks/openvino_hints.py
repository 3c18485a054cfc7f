"""Why the openvino backend runs the u8s8 int8 graph with one latency stream: measure every alternative.

For one branch of an export, side by side in one process (median of --runs after --warmup), per batch size:
ONNX Runtime on the fp32 / symmetric int8 / u8s8 int8 graphs, and OpenVINO on each graph with the latency hint
(one stream, every thread), the throughput hint with one request, and the throughput hint with the batch split
over its optimal number of asynchronous requests. Each row gives ms per image, the speed-up over ONNX Runtime
fp32, and cos min against ONNX Runtime fp32 on the same random batch (the throughput-hint int8 rows are where
OpenVINO 2026.4 gave wrong outputs on 2 cores).

Usage: python benchmarks/openvino_hints.py ART_DIR [--branch visible] [--batch 1,8] [--runs 15]
State the CPU flags next to the figures (`lscpu | grep -o 'avx2\\|avx512_vnni\\|amx_bf16' | sort -u`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import openvino as ov
import openvino.properties.hint as hints

from vireid_runtime import read_manifest

GRAPHS = {"fp32": "", "int8 (s8 symmetric)": ".int8", "int8-cpu (u8s8)": ".int8-cpu"}


def median_seconds(run: Callable[[], object], runs: int, warmup: int) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def cos_min(reference: np.ndarray, candidate: np.ndarray) -> float:
    return float((reference * candidate).sum(axis=1).min())  # both L2-normalised


def split_over_requests(compiled: ov.CompiledModel, x: np.ndarray) -> Callable[[], np.ndarray]:
    """A run of `x` split over the compiled model's optimal number of asynchronous requests."""
    count = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    queue = ov.AsyncInferQueue(compiled, count)
    parts = np.array_split(x, count)
    outputs: dict[int, np.ndarray] = {}
    queue.set_callback(lambda request, index: outputs.__setitem__(index, np.array(request.get_output_tensor(0).data)))

    def run() -> np.ndarray:
        for index, part in enumerate(parts):
            queue.start_async({0: part}, index)
        queue.wait_all()
        return np.concatenate([outputs[i] for i in range(count)])

    return run


def measure_batch(art_dir: Path, branch: str, x: np.ndarray, runs: int, warmup: int) -> list[tuple[str, float, float]]:
    core = ov.Core()
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # engines take turns
    candidates: list[tuple[str, Callable[[], np.ndarray]]] = []
    for label, suffix in GRAPHS.items():
        path = str(art_dir / f"{branch}{suffix}.onnx")
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        candidates.append((f"ORT {label}", lambda s=session: s.run(None, {"images": x})[0]))
        for mode, name in (
            (hints.PerformanceMode.LATENCY, "latency"),
            (hints.PerformanceMode.THROUGHPUT, "throughput"),
        ):
            config = {hints.performance_mode(): mode, hints.inference_precision(): ov.Type.f32}
            compiled = core.compile_model(path, "CPU", config)
            request = compiled.create_infer_request()
            candidates.append((f"OpenVINO {label}, {name}, 1 request", lambda r=request: np.array(r.infer({0: x})[0])))
            if name == "throughput" and len(x) > 1:
                candidates.append((f"OpenVINO {label}, {name}, split over requests", split_over_requests(compiled, x)))
    reference = candidates[0][1]()
    return [(name, median_seconds(run, runs, warmup), cos_min(reference, run())) for name, run in candidates]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("art_dir", type=Path)
    parser.add_argument("--branch", default="visible")
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    spec = read_manifest(args.art_dir).input
    print("| batch | engine / graph / mode | ms per image | vs ORT fp32 | cos min vs ORT fp32 |")
    print("|---|---|---|---|---|")
    for batch in (int(b) for b in args.batch.split(",")):
        x = np.random.default_rng(0).random((batch, 3, spec.height, spec.width), dtype=np.float32)
        rows = measure_batch(args.art_dir, args.branch, x, args.runs, args.warmup)
        base = rows[0][1]
        for name, seconds, cosine in rows:
            print(f"| {batch} | {name} | {1000 * seconds / batch:.2f} | {base / seconds:.2f}x | {cosine:.5f} |")


if __name__ == "__main__":
    main()
