"""`vireid bench`: accuracy parity and latency of each backend x precision against the torch reference.

The options are named types below, so that the command reads as its list of options; what they mean together is
`vireid.bench.runner.BenchOptions`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.bench import ALL_BACKENDS
from vireid.cli.common import csv_ints, csv_list, user_errors

EVERY_BACKEND = ",".join(ALL_BACKENDS)
ArtDir = Annotated[Path, typer.Argument(help="Artifact directory written by `vireid export`.")]
Data = Annotated[Path | None, typer.Option("--data", help="Dataset root (default: the one recorded at export).")]
Out = Annotated[Path | None, typer.Option("--out", help="Folder for bench.json/.md/.png (default: ART_DIR).")]
Backends = Annotated[
    str,
    typer.Option(
        "--backends",
        help=f"Comma-separated: {', '.join(ALL_BACKENDS)}. Those that cannot run here are listed as skipped "
        "with the reason.",
    ),
]
Precision = Annotated[
    str | None,
    typer.Option(
        "--precision",
        help="Comma-separated fp32,fp16,bf16,int8 (default: every precision exported, and each backend's "
        "own modes of them: openvino bf16 on the fp32 graph).",
    ),
]
Batch = Annotated[str, typer.Option("--batch", help="Batch sizes for the latency sweep.")]
Runs = Annotated[int, typer.Option("--runs", help="Timed runs per batch size (after the warm-up).")]
Warmup = Annotated[int, typer.Option("--warmup", help="Untimed runs before timing.")]
Run = Annotated[
    Path | None, typer.Option("--run", help="Run directory for the torch reference (default: from the manifest).")
]
Branch = Annotated[str, typer.Option("--branch", help="Branches to time: visible, infrared or both.")]
Threads = Annotated[int | None, typer.Option("--threads", help="ONNX Runtime intra-op threads (default: all cores).")]
NoParity = Annotated[bool, typer.Option("--no-parity", help="Latency only.")]
Device = Annotated[
    str | None,
    typer.Option(
        "--device",
        help="cpu, cuda or cuda:N: where the torch reference runs, and the GPU every GPU backend uses "
        "(default: cuda when one is available, else cpu; with cpu the GPU backends are skipped).",
    ),
]
TritonUrl = Annotated[
    str | None,
    typer.Option(
        "--triton-url",
        help="The Triton server the triton backend sends to: grpc://HOST:8001 or http://HOST:8000 (without it "
        "that backend is skipped).",
    ),
]
ServingBatch = Annotated[
    str, typer.Option("--serving-batch", help="Batch sizes per request in the serving view (triton).")
]
Concurrency = Annotated[str, typer.Option("--concurrency", help="Client counts in the serving view (triton).")]


@user_errors
def bench_cli(
    art_dir: ArtDir,
    data: Data = None,
    out: Out = None,
    backends: Backends = EVERY_BACKEND,
    precision: Precision = None,
    batch: Batch = "1,8,32,64",
    runs: Runs = 20,
    warmup: Warmup = 3,
    run: Run = None,
    branch: Branch = "both",
    threads: Threads = None,
    no_parity: NoParity = False,
    device: Device = None,
    triton_url: TritonUrl = None,
    serving_batch: ServingBatch = "1,8",
    concurrency: Concurrency = "1,4,16",
) -> None:
    """Measure what deployment changes: retrieval parity and speed, per backend and precision.

    Parity: every backend embeds the dataset's evaluation split (SYSU-MM01 all-search, 10 gallery trials, or
    RegDB trial 1 both ways); per-sample cosine to torch (min, mean), max |Δ|, and R1 / mAP / mINP (the
    10-trial mean on SYSU-MM01) with deltas.
    Latency: warm-up, then --runs timed runs per batch size; p50 / p90 / p99 / mean and images/s, compute-only
    (CUDA events on GPUs) and end-to-end (preprocessing and copies included) reported apart.
    Serving (the triton backend, at --triton-url): throughput and client-side p50 / p99 against --concurrency
    clients at each --serving-batch, beside the server's own queue and compute time from its statistics.
    Writes bench.json, bench.md and bench.png; see benchmarks/README.md for the method.
    """
    from vireid.bench.report import print_tables, write_outputs
    from vireid.bench.runner import BenchOptions, branches, run_bench

    options = BenchOptions(
        backends=tuple(csv_list(backends, "--backends")),
        precisions=tuple(csv_list(precision, "--precision")) if precision else None,
        batches=tuple(csv_ints(batch, "--batch")),
        runs=runs,
        warmup=warmup,
        data=str(data) if data else None,
        run_dir=str(run) if run else None,
        latency_modalities=branches(branch),
        threads=threads,
        parity=not no_parity,
        device=device,
        triton_url=triton_url,
        serving_batches=tuple(csv_ints(serving_batch, "--serving-batch")),
        concurrency=tuple(csv_ints(concurrency, "--concurrency")),
    )
    result = run_bench(art_dir, options)
    print_tables(result)
    paths = write_outputs(result, out or art_dir)
    typer.echo(f"wrote {paths['json']}, {paths['markdown'].name}, {paths['plot'].name}")
