"""Bench outputs: bench.json (everything), bench.md (tables for humans), bench.png (latency and throughput
against batch size per backend) and a terminal table. Every file is written atomically."""

from __future__ import annotations

import io
from pathlib import Path

from vireid.io.atomic import atomic_write_bytes, atomic_write_text
from vireid_runtime.bench_result import BenchResult, ParityRow

JSON_FILE, MARKDOWN_FILE, PLOT_FILE = "bench.json", "bench.md", "bench.png"


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _delta(value: float) -> str:
    return f"{100 * value:+.2f}"


def parity_rows(result: BenchResult) -> list[list[str]]:
    rows = []
    for entry in result.parity:
        for split, metrics in entry.splits.items():
            rows.append(
                [
                    f"{entry.backend} {entry.precision}",
                    split,
                    *entry.figures.cells(),
                    f"{entry.figures.max_abs_diff:.2e}",
                    f"{_pct(metrics.R1)} ({_delta(metrics.dR1)})",
                    f"{_pct(metrics.mAP)} ({_delta(metrics.dmAP)})",
                    f"{_pct(metrics.mINP)} ({_delta(metrics.dmINP)})",
                    _verdict(entry),
                ]
            )
    return rows


def _verdict(entry: ParityRow) -> str:
    """Within the cosine bar and within 0.5 points of R1 / mAP, or what missed."""
    misses = []
    if not entry.cosine_ok:
        misses.append(f"cosine (bar {entry.figures.bar})")
    if not entry.retrieval_ok:
        misses.append("R1/mAP")
    return "ok" if not misses else "MISSES " + " and ".join(misses)


PARITY_HEADER = [
    "backend",
    "split",
    "cos min",
    "cos p1",
    "below bar",
    "cos mean",
    "max |Δ|",
    "R1 % (Δ)",
    "mAP % (Δ)",
    "mINP % (Δ)",
    "bars",
]
LATENCY_HEADER = [
    "backend",
    "branch",
    "batch",
    "compute p50 ms",
    "p90",
    "p99",
    "mean",
    "img/s",
    "end-to-end p50 ms",
    "p90",
    "p99",
    "img/s",
]


def latency_rows(result: BenchResult) -> list[list[str]]:
    rows = []
    for entry in result.latency:
        compute, e2e = entry.compute, entry.end_to_end
        rows.append(
            [
                f"{entry.backend} {entry.precision}",
                entry.modality,
                str(entry.batch),
                f"{compute.p50_ms:.2f}",
                f"{compute.p90_ms:.2f}",
                f"{compute.p99_ms:.2f}",
                f"{compute.mean_ms:.2f}",
                f"{compute.images_per_s:.1f}",
                f"{e2e.p50_ms:.2f}",
                f"{e2e.p90_ms:.2f}",
                f"{e2e.p99_ms:.2f}",
                f"{e2e.images_per_s:.1f}",
            ]
        )
    return rows


SERVING_HEADER = [
    "backend",
    "branch",
    "batch",
    "clients",
    "img/s",
    "client p50 ms",
    "p99",
    "server queue ms",
    "server compute ms",
    "executions / requests",
]


def serving_rows(result: BenchResult) -> list[list[str]]:
    """Client-side latency and throughput beside the server's own times, per batch size and client count."""
    rows = []
    for entry in result.serving:
        server = entry.server
        rows.append(
            [
                f"{entry.backend} {entry.precision}",
                entry.modality,
                str(entry.batch),
                str(entry.concurrency),
                f"{entry.images_per_s:.1f}",
                f"{entry.client.p50_ms:.2f}",
                f"{entry.client.p99_ms:.2f}",
                f"{server.queue_ms:.2f}",
                f"{server.compute_ms:.2f}",
                f"{server.executions} / {server.requests}",
            ]
        )
    return rows


def _serving_section(result: BenchResult) -> list[str]:
    if not result.serving:
        return []
    return [
        "",
        f"## Serving ({result.settings.triton_url})",
        "",
        f"Each of `clients` threads sends {result.settings.runs} requests of `batch` images back to back; the "
        "server's queue and compute time per request come from its statistics extension, and fewer executions "
        "than requests mean dynamic batching merged them.",
        "",
        markdown_table(SERVING_HEADER, serving_rows(result)),
    ]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(result: BenchResult) -> str:
    env = result.environment
    machine = env.machine
    settings = result.settings
    versions = ", ".join(f"{name} {version}" for name, version in env.versions.items())
    parts = [
        "# vireid bench",
        "",
        f"- artifacts: `{result.artifacts}`",
        f"- dataset: `{result.dataset}`; parity on {result.evaluation}",
        f"- reference: {result.reference}",
        f"- machine: {machine.cpu} ({machine.cpu_count} cores, torch threads {env.torch_threads}; CPU flags "
        f"{' '.join(machine.cpu_flags) or 'none reported'})"
        + (f", GPU {machine.gpu} (driver {env.gpu_driver})" if machine.gpu else ", no GPU"),
        f"- versions: {versions}",
        f"- latency: input {settings.input}, warm-up {settings.warmup} then {settings.runs} timed runs per "
        "batch size; compute = inference on a prepared batch (CUDA events on GPUs); end-to-end = decoded images "
        "to embeddings, preprocessing and copies included",
        "",
        "## Parity against the reference",
        "",
        markdown_table(PARITY_HEADER, parity_rows(result)) if result.parity else "(parity not measured)",
        "",
        "## Latency",
        "",
        markdown_table(LATENCY_HEADER, latency_rows(result)),
        *_serving_section(result),
    ]
    if result.skipped:
        parts += ["", "## Skipped", ""]
        parts += [f"- {s.backend} {s.precision}: {s.reason}" for s in result.skipped]
    return "\n".join(parts) + "\n"


FAILS_PARITY = " (fails parity)"


def plot_series(result: BenchResult) -> dict[str, list[tuple[int, float, float]]]:
    """Per legend label, (batch, compute p50 ms, images/s) points; a row that missed a parity bar says so."""
    series: dict[str, list[tuple[int, float, float]]] = {}
    failing = _failing_parity(result)
    for entry in result.latency:
        key = f"{entry.backend} {entry.precision} ({entry.modality})"
        if (entry.backend, entry.precision) in failing:
            key += FAILS_PARITY
        series.setdefault(key, []).append((entry.batch, entry.compute.p50_ms, entry.compute.images_per_s))
    return series


def plot_png(result: BenchResult) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    for key, points in sorted(plot_series(result).items()):
        points.sort()
        batches = [p[0] for p in points]
        # Hollow markers and a dashed line: the fastest-looking line must never be mistaken for a usable one.
        style = {"marker": "o", "label": key}
        if key.endswith(FAILS_PARITY):
            style.update(markerfacecolor="none", linestyle="--")
        left.plot(batches, [p[1] for p in points], **style)
        right.plot(batches, [p[2] for p in points], **style)
    for axis, label in ((left, "compute latency p50 (ms)"), (right, "throughput (images/s)")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("batch size")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=7, loc="best")
    figure.suptitle(
        f"vireid bench — {result.settings.input} input, {result.environment.machine.describe()}", fontsize=9
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _failing_parity(result: BenchResult) -> set[tuple[str, str]]:
    """The (backend, precision) pairs whose parity was measured and missed a bar."""
    return {(row.backend, row.precision) for row in result.parity if not row.passed}


def write_outputs(result: BenchResult, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / JSON_FILE, "markdown": out_dir / MARKDOWN_FILE, "plot": out_dir / PLOT_FILE}
    atomic_write_text(paths["json"], result.to_json())
    atomic_write_text(paths["markdown"], markdown(result))
    atomic_write_bytes(paths["plot"], plot_png(result))
    return paths


def print_tables(result: BenchResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if result.parity:
        table = Table(title=f"parity vs {result.reference}", title_justify="left")
        for column in PARITY_HEADER:
            table.add_column(column)
        for row in parity_rows(result):
            table.add_row(*row)
        console.print(table)
    for title, header, rows in (
        ("latency (ms) and throughput", LATENCY_HEADER, latency_rows(result)),
        ("serving: clients against the server", SERVING_HEADER, serving_rows(result)),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for column in header:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for skipped in result.skipped:
        console.print(f"skipped {skipped.backend} {skipped.precision}: {skipped.reason}")
