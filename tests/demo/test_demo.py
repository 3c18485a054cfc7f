"""`vireid demo` end to end with a reduced size: every artifact exists and report.md references real files."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from vireid.cli.app import app
from vireid.demo import DemoOptions, DemoRecipe, run_demo
from vireid.demo.recipe import demo_bench, demo_export
from vireid.eval.report import read_evaluation
from vireid.gallery.metadata import from_dataset
from vireid_runtime.bench_result import read_bench

REDUCED = DemoRecipe(
    ids=12,
    train_overrides=("train.epochs=1", "train.batches_per_epoch=2", "train.val_ids=2", "train.ids_per_batch=4"),
    # The int8 search on 96 screened images instead of 512: the search's own tests judge it; this one the wiring.
    export=dataclasses.replace(demo_export(), calib_count=24, search_pool=48, screen_count=96),
    bench=dataclasses.replace(demo_bench(), runs=2),
)
"""A smaller recipe (the CLI keeps only --out, --seed and --force)."""


def test_demo_writes_every_artifact_and_a_consistent_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert run_demo(DemoOptions(out=out, recipe=REDUCED)) == out / "report.md"
    for relative in (
        "data/exp/test_id.txt",
        "run/config.toml",
        "run/model.safetensors",
        "run/metrics.jsonl",
        "run/eval.json",
        "artifacts/manifest.json",
        "artifacts/visible.onnx",
        "artifacts/infrared.int8-cpu.onnx",
        "artifacts/bench.json",
        "artifacts/bench.md",
        "artifacts/bench.png",
        "ranked.png",
        "gallery.png",
        "gallery/catalog.sqlite",
        "gallery/visible/vectors.f32",
        "report.md",
        "triton/README.md",
        "triton/visible-int8/config.pbtxt",
        "triton/visible-int8/1/model.onnx",
    ):
        assert (out / relative).is_file(), relative
    for absent in ("artifacts/infrared.int8.onnx", "artifacts/infrared.fp16.onnx"):  # a CPU demo: cpu int8 only
        assert not (out / absent).exists(), absent
    evaluation = read_evaluation(out / "run/eval.json")
    assert evaluation.settings.trials == 10 and len(evaluation.trials) == 10
    bench = read_bench(out / "artifacts/bench.json")
    assert {(p.backend, p.precision) for p in bench.parity} >= {
        ("torch", "fp32"),
        ("ort-cpu", "fp32"),
        ("ort-cpu", "int8"),
        ("openvino", "fp32"),  # openvino is a default dependency, so the demo benches it beside ONNX Runtime
        ("openvino", "int8"),
    }
    report = (out / "report.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", report)
    assert "artifacts/bench.png" in links and "ranked.png" in links and "triton/README.md" in links
    assert "gallery.png" in links and "FAISS and milvus-lite return the same crops" in report
    # the demo's gallery is flat, so its index is exact search and its recall proves nothing (tests/gallery judges
    # eval on an IVF index that misses); what can fail here is that every infrared query was evaluated
    queries = sum(s.modality == "infrared" for s in from_dataset(out / "data"))
    assert queries and f"over {queries} queries: ok" in report, report
    gallery_rows = re.findall(r"^\| \d \| [\d.]+ \| (cam\d) \|", report, flags=re.M)
    assert gallery_rows and set(gallery_rows) <= {"cam1", "cam4"}, "the query's camera filter holds"
    assert report.count("- auto: ") == 2, report  # one choice per branch, with its evidence
    assert "fastest that passed its parity bar in" in report
    for link in links:
        assert (out / link).is_file(), link
    for name in ("R1", "mAP", "mINP", "cos min", "p50", "**not**"):
        assert name in report
    for picture in ("ranked.png", "gallery.png", "artifacts/bench.png"):
        with Image.open(out / picture) as image:
            image.verify()

    again = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.output, "the CLI refuses to overwrite a demo in one line"
