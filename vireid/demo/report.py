"""report.md of a demo, from its typed record: one function per section, read top to bottom."""

from __future__ import annotations

from pathlib import Path

from vireid.bench.report import LATENCY_HEADER, PARITY_HEADER, latency_rows, markdown_table, parity_rows
from vireid.demo.gallery import gallery_section
from vireid.demo.record import DemoRecord

METRICS = ("R1", "R5", "R10", "R20", "mAP", "mINP")
EXPORT_HEADER = [
    "file",
    "precision",
    "flavour",
    "MB",
    "cos min vs torch",
    "cos p1",
    "below bar",
    "cos mean",
    "layers kept in float",
]


def render_report(record: DemoRecord) -> str:
    sections = (
        _introduction(record),
        _data_and_training(record),
        _evaluation(record),
        _export(record),
        _bench(record),
        _ranked_list(record),
        gallery_section(record.gallery, Path(record.data.root)),
        _triton(record),
    )
    return "\n".join(line for section in sections for line in section) + "\n"


def _introduction(record: DemoRecord) -> list[str]:
    seconds = record.seconds
    return [
        "# vireid demo report",
        "",
        "Everything below ran on this machine from nothing: a generated dataset in the SYSU-MM01 layout, the `demo`",
        "preset (resnet18 from scratch, small input), the SYSU-MM01 protocol, the ONNX export and the bench. The",
        "generated data shows that the pipeline learns and that deployment keeps what it learned; it is **not** a",
        "statement about accuracy on the real SYSU-MM01 or RegDB.",
        "",
        "## Steps",
        "",
        markdown_table(["step", "seconds"], [[name, f"{value:.1f}"] for name, value in seconds.items()]),
        f"\nTotal: {sum(seconds.values()):.0f} s.",
        "",
    ]


def _data_and_training(record: DemoRecord) -> list[str]:
    data, config, trained = record.data, record.config, record.trained
    return [
        "## Data and training",
        "",
        f"- dataset: {data.ids} identities ({data.splits}), {data.visible} visible and {data.infrared} "
        "infrared images in `data/`",
        f"- model: {config.model.backbone} `{config.model.attention}` at {config.model.height}x{config.model.width}, "
        f"{config.train.epochs} epochs, {trained.seconds:.0f} s, {trained.images_per_s or 0:.1f} images/s "
        "in the last epoch",
        f"- model selection: {trained.selection} (best epoch {trained.best.epoch if trained.best else '-'})",
        "",
    ]


def _evaluation(record: DemoRecord) -> list[str]:
    metrics = record.evaluation.mean_std()
    test_ids = record.data.splits.get("test")
    chance = 1.0 / max(1, test_ids or 1)
    row = [f"{100 * metrics[k].mean:.1f} ± {100 * metrics[k].std:.1f}" for k in METRICS]
    return [
        f"## SYSU-MM01 all-search, single-shot, {record.evaluation.settings.trials} trials (mean ± std)",
        "",
        markdown_table(list(METRICS), [row]),
        f"\nChance Rank-1 is about {100 * chance:.0f}% ({test_ids} test identities). Details: `run/eval.json`.",
        "",
    ]


def _export(record: DemoRecord) -> list[str]:
    rows = [
        [
            a.file,
            a.precision,
            a.flavour or "-",
            f"{a.bytes / 1e6:.1f}",
            *(a.parity.cells() if a.parity else ["-"] * 4),
            str(len(a.plan.kept)) if a.plan else "-",
        ]
        for a in record.manifest.artifacts
    ]
    return ["## Export (`artifacts/`)", "", markdown_table(EXPORT_HEADER, rows), ""]


def _bench(record: DemoRecord) -> list[str]:
    return [
        "## Parity on the evaluation split",
        "",
        markdown_table(PARITY_HEADER, parity_rows(record.bench)),
        "",
        "## Latency (visible branch)",
        "",
        markdown_table(LATENCY_HEADER, latency_rows(record.bench)),
        "",
        "![latency and throughput against batch size](artifacts/bench.png)",
        "",
    ]


def _ranked_list(record: DemoRecord) -> list[str]:
    ranked = record.ranked
    return [
        "## A ranked list through the runtime",
        "",
        f"Query `{ranked.query.relative_to(Path(record.data.root))}` (infrared) against the trial-0 visible "
        f"gallery; green = same identity, red = another. Rank-1 {'is' if ranked.hit_at_1 else 'is not'} a match.",
        "",
        "Backends chosen by `--backend auto` from the bench above:",
        "",
        *[f"- {line}" for line in ranked.choice],
        "",
        "![ranked list](ranked.png)",
        "",
    ]


def _triton(record: DemoRecord) -> list[str]:
    models = record.triton_models
    return [
        "## Serving it with Triton",
        "",
        f"`triton/` is a Triton Inference Server model repository of {len(models)} models "
        f"({', '.join(f'`{name}`' for name in models)}), each config checked against Triton's ModelConfig "
        "schema and its ONNX graph; [its README](triton/README.md) has the server command, a client snippet and "
        "a perf_analyzer command over real images. No Triton server ran here.",
        "",
        f"Machine: {record.bench.environment.machine.describe()}. Full figures: `artifacts/bench.json`, "
        "`artifacts/bench.md`.",
    ]
