"""The Triton host against the same engine in process, side by side in one run: what serving costs and what
concurrency buys (issue 31's goals).

For one branch of an export, on one backend and precision (by default `auto`'s choice in this process, which the
host is then told to run, so that both sides run the same engine on the same graph), with prepared input on
both sides (random images of the export's size):
- in process: `Embedder.time_compute` at batch 8;
- through `vireid-triton-host` on loopback (gRPC): throughput at batch 8 with 1 and 4 clients, and at batch 1
  with 1, 4, 8 and 16 clients, each with the server's own queue and compute time per request and how many
  executions served the requests (`vireid.bench.serving`, the serving view of `vireid bench`).
Each round measures everything once, in process first; --rounds rounds alternate, and the table gives each cell's
median over the rounds.

Goals: at batch 8 the host's throughput is at least 0.7x the in-process throughput (its better client count);
at batch 1, 8 clients get at least 2.5x the throughput of one.

Usage (the host needs its own venv, PyTriton pins numpy < 2):
    python -m venv /tmp/host && /tmp/host/bin/pip install "./runtime[openvino,triton-host]"
    python benchmarks/triton_serving.py ART_DIR --host-venv /tmp/host [--backend auto] [--precision fp32]
        [--branch visible] [--runs 20] [--rounds 3] [--out benchmarks/results/triton]
It writes OUT/serving-<branch>-<backend>-<precision>.md with the machine, its CPU flags and the versions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vireid.bench.latency import summarise
from vireid.bench.serving import serving_row
from vireid.deploy.triton_process import HostProcess
from vireid.io.atomic import atomic_write_text
from vireid_runtime import load_embedder
from vireid_runtime.backends.triton import TritonEmbedder
from vireid_runtime.machine import this_machine
from vireid_runtime.manifest import MODALITIES
from vireid_runtime.triton_models import model_name

SERVED = ((8, 1), (8, 4), (1, 1), (1, 4), (1, 8), (1, 16))
"""(batch, clients) of the host's measurements."""
HEADER = (
    "| measurement | img/s | p50 ms | p99 ms | server compute ms / request | server queue ms / request "
    "| executions / requests (first round) |\n|---|---|---|---|---|---|---|"
)
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


@dataclass(frozen=True)
class Cell:
    label: str
    images_per_s: float
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_compute_ms: float = 0.0
    server_queue_ms: float = 0.0
    executions: str = ""


def one_round(local, remote: TritonEmbedder, images: np.ndarray, runs: int) -> list[Cell]:  # type: ignore[no-untyped-def]
    cells = []
    for batch in (8, 1):
        timing = summarise(local.time_compute(images[:batch], 2, runs), batch)
        cells.append(Cell(f"in process, batch {batch}", timing.images_per_s, timing.p50_ms, timing.p99_ms))
    for batch, clients in SERVED:
        row = serving_row(remote, images[:batch], clients, warmup=2, runs=runs)
        server = row.server
        cells.append(
            Cell(
                f"host, batch {batch}, {clients} clients",
                row.images_per_s,
                row.client.p50_ms,
                row.client.p99_ms,
                server.compute_ms,
                server.queue_ms,
                f"{server.executions} / {server.requests}",
            )
        )
    return cells


def medians(rounds: list[list[Cell]]) -> list[Cell]:
    def median(values: list[float]) -> float:
        return float(statistics.median(values))

    merged = []
    for cells in zip(*rounds, strict=True):
        first = cells[0]
        merged.append(
            Cell(
                first.label,
                median([c.images_per_s for c in cells]),
                median([c.p50_ms for c in cells]),
                median([c.p99_ms for c in cells]),
                median([c.server_compute_ms for c in cells]),
                median([c.server_queue_ms for c in cells]),
                first.executions,
            )
        )
    return merged


def cpu_flags() -> str:
    text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    return " ".join(flag for flag in FLAGS if f" {flag} " in f" {text.replace(chr(10), ' ')} ") or "none of them"


def host_version(venv: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('nvidia-pytriton'), m.version('numpy'))"
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False)
    pytriton, numpy_version = [*out.stdout.split(), "?", "?"][:2]
    return f"nvidia-pytriton {pytriton} (tritonserver 2.51.0), numpy {numpy_version} in the host's venv"


def report(cells: list[Cell], args: argparse.Namespace, engine: str, venv: Path) -> str:
    by_label = {cell.label: cell for cell in cells}
    local = by_label["in process, batch 8"].images_per_s
    served8 = max(by_label[f"host, batch 8, {c} clients"].images_per_s for c in (1, 4))
    scaling = by_label["host, batch 1, 8 clients"].images_per_s / by_label["host, batch 1, 1 clients"].images_per_s
    rows = "\n".join(
        f"| {c.label} | {c.images_per_s:.1f} | {c.p50_ms:.2f} | {c.p99_ms:.2f} | "
        + (f"{c.server_compute_ms:.2f} | {c.server_queue_ms:.2f} | {c.executions} |" if c.executions else "- | - | - |")
        for c in cells
    )
    ceiling = local / by_label["in process, batch 1"].images_per_s
    verdict = {True: "met", False: "NOT met"}
    return f"""# Triton host against the same engine in process

- command: `python benchmarks/triton_serving.py {" ".join(sys.argv[1:])}`
- engine: {engine}, {args.branch} branch, prepared random input, loopback gRPC
- machine: {this_machine().describe()}; CPU flags: {cpu_flags()}
- host: {host_version(venv)}
- {args.rounds} rounds of {args.runs} timed requests per client (in process: {args.runs} timed batches); medians

{HEADER}
{rows}

Goals:
- batch 8, host / in process: {served8 / local:.2f}x (goal >= 0.7x: {verdict[served8 / local >= 0.7]})
- batch 1, 8 clients / 1 client: {scaling:.2f}x (goal >= 2.5x: {verdict[scaling >= 2.5]}); dynamic batching can
  at most turn batch-1 requests into the engine's batch-8 speed, and in process batch 8 / batch 1 is {ceiling:.2f}x
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("art_dir", type=Path)
    parser.add_argument("--host-venv", type=Path, required=True, help="a venv with ./runtime[triton-host]")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--branch", default="visible", choices=MODALITIES)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/triton"))
    args = parser.parse_args()

    local = load_embedder(args.art_dir, args.branch, args.backend, args.precision, log=print)
    engine = f"{local.backend} {local.precision}"
    names = [model_name(m, local.precision) for m in MODALITIES]
    script = args.host_venv / "bin" / "vireid-triton-host"
    with tempfile.TemporaryDirectory(prefix="vireid-triton-bench-") as folder:
        host = HostProcess.start(
            script, args.art_dir, Path(folder), names, ["--backend", local.backend, "--precision", local.precision]
        )
        try:
            remote = load_embedder(args.art_dir, args.branch, "triton", local.precision, url=host.grpc_url)
            assert isinstance(remote, TritonEmbedder)
            spec = local.input_spec
            images = np.random.default_rng(0).random((8, 3, spec.height, spec.width), dtype=np.float32)
            rounds = [one_round(local, remote, images, args.runs) for _ in range(args.rounds)]
            remote.close()
        finally:
            host.stop()
    local.close()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"serving-{args.branch}-{local.backend}-{local.precision}.md"
    atomic_write_text(path, report(medians(rounds), args, engine, args.host_venv))
    print(path.read_text())


if __name__ == "__main__":
    main()
