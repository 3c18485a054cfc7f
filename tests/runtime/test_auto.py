"""`backend="auto"`: chosen by a bench.json of this machine, never a row that failed its bar, else the order."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.helpers import artifact_copy
from vireid_runtime import ArtifactError, RuntimeUserError, load_embedder, read_manifest
from vireid_runtime.backends import AUTO_ORDER, BACKENDS
from vireid_runtime.bench_result import (
    BENCH_FILE,
    FORMAT,
    BenchResult,
    Environment,
    LatencyRow,
    ParityRow,
    Settings,
    Timing,
    bench_from_dict,
    read_bench,
)
from vireid_runtime.machine import Machine, this_machine
from vireid_runtime.parity import BARS, ParityFigures


def _timing(images_per_s: float, batch: int) -> Timing:
    ms = 1000.0 * batch / images_per_s
    return Timing(p50_ms=ms, p90_ms=ms, p99_ms=ms, mean_ms=ms, images_per_s=images_per_s, runs=3)


def _bench(art: Path, rows: list[tuple[str, str, float, bool]], machine: Machine | None = None) -> BenchResult:
    """A bench of `art` where each (backend, precision, images/s at batch 8, passed) was measured."""
    parity = []
    latency = []
    for backend, precision, speed, passed in rows:
        cos = 0.9999 if passed else 0.9
        parity.append(
            ParityRow(
                backend=backend,
                precision=precision,
                files={},
                figures=ParityFigures(
                    images=10,
                    cos_min=cos,
                    cos_mean=cos,
                    max_abs_diff=0.01,
                    norm_min=1.0,
                    norm_max=1.0,
                    bar=BARS[precision],
                    passed=passed or precision == "fp32",
                ),
                retrieval_ok=passed,
                splits={},
            )
        )
        for batch, scale in ((1, 0.5), (8, 1.0)):
            latency.append(
                LatencyRow(backend, precision, "visible", batch, _timing(speed * scale, batch), _timing(speed, batch))
            )
    return BenchResult(
        created="2026-12-01T00:00:00+00:00",
        artifacts=str(art),
        manifest_created=read_manifest(art).created,
        dataset="data",
        evaluation="evaluation",
        reference="torch",
        settings=Settings((1, 8), 3, 1, ("visible",), "64x32", "cpu"),
        environment=Environment(
            machine=machine or this_machine(),
            platform="linux",
            python="3.11",
            versions={"onnxruntime": "1"},
            onnxruntime_providers=("CPUExecutionProvider",),
            torch_threads=2,
            omp_num_threads="2",
            cuda_available=False,
        ),
        parity=tuple(parity),
        latency=tuple(latency),
    )


@pytest.fixture()
def art(demo_export: Path, tmp_path: Path) -> Path:
    return artifact_copy(demo_export, tmp_path / "art")


def _write(art: Path, bench: BenchResult) -> None:
    (art / BENCH_FILE).write_text(bench.to_json())


def test_the_bench_result_reads_back_typed_and_refuses_other_formats(art: Path, tmp_path: Path) -> None:
    bench = _bench(art, [("ort-cpu", "int8", 100.0, True)])
    assert bench_from_dict(json.loads(bench.to_json())) == bench
    values = json.loads(bench.to_json())
    for broken, message in (
        (
            {**values, "format": "vireid-bench/0"},
            r"format 'vireid-bench/0' is not 'vireid-bench/1' or 'vireid-bench/2' or 'vireid-bench/3' or "
            r"'vireid-bench/4'",
        ),
        ({**values, "extra": 1}, r"bench has unknown fields extra; re-run `vireid bench`"),
    ):
        path = tmp_path / "bench.json"
        path.write_text(json.dumps(broken))
        with pytest.raises(ArtifactError, match=message):
            read_bench(path)


def test_auto_picks_the_fastest_row_that_passed_and_never_one_that_failed(art: Path) -> None:
    rows = [
        ("openvino", "int8", 900.0, False),  # fastest, but failed its bar
        ("ort-cpu", "fp32", 950.0, False),  # faster still: cosine within its bar, but R1 / mAP moved too much
        ("ort-cpu", "int8", 500.0, True),
        ("openvino", "fp32", 400.0, True),
    ]
    _write(art, _bench(art, rows))
    lines: list[str] = []
    with load_embedder(art, "visible", "auto", log=lines.append) as embedder:
        assert (embedder.backend, embedder.precision) == ("ort-cpu", "int8")
        assert embedder.artifact.file == "visible.int8-cpu.onnx"
    (line,) = lines
    assert line.startswith("auto: ort-cpu int8 for the visible branch (fastest that passed its parity bar in ")
    assert "500.0 images/s at batch 8" in line and this_machine().describe() in line
    with load_embedder(art, "infrared", "auto", log=lines.append) as other:  # only the visible branch was timed
        assert (other.backend, other.precision) == ("ort-cpu", "int8")
    assert "(timed on the visible branch)" in lines[-1]
    with load_embedder(art, "visible", "auto", "fp32", log=lines.append) as fp32:  # a precision asked for
        assert (fp32.backend, fp32.precision) == ("openvino", "fp32")


def test_a_row_that_failed_is_not_taken_from_the_order_either(art: Path) -> None:
    """No row passed at fp32 (openvino fp32 failed, ort-cpu fp32 was not measured): the order may still offer
    fp32, but never the failed openvino fp32."""
    _write(art, _bench(art, [("openvino", "fp32", 900.0, False), ("ort-cpu", "int8", 500.0, True)]))
    lines: list[str] = []
    with load_embedder(art, "visible", "auto", "fp32", log=lines.append) as embedder:
        assert (embedder.backend, embedder.precision) != ("openvino", "fp32")
    assert "has no row that passed its parity bar at fp32" in lines[0]


def _first_that_loads(art: Path) -> str:
    for name in AUTO_ORDER:
        try:
            load_embedder(art, "visible", name).close()
        except (RuntimeUserError, ValueError):
            continue
        return name
    raise AssertionError("nothing loads")


def test_without_a_bench_auto_takes_the_first_that_runs_in_the_order(art: Path) -> None:
    lines: list[str] = []
    with load_embedder(art, "visible", "auto", log=lines.append) as embedder:
        assert embedder.precision == "fp32" and embedder.backend == _first_that_loads(art)
        assert embedder.choice == lines[0]
    assert f"first that runs in the order {' > '.join(AUTO_ORDER)}" in lines[0]
    assert f"no {BENCH_FILE} in " in lines[0] and "\n" not in lines[0]
    for skipped in AUTO_ORDER[: AUTO_ORDER.index(embedder.backend)]:
        assert f"{skipped}" in lines[0].split("passed over: ")[1]  # each one passed over says why


def _flattened(values: dict, format_: str) -> dict:  # type: ignore[type-arg]
    """A /3 bench.json as /2 wrote it (each row's cosine figures at its top level) or /1 (no tail figures)."""
    rows = []
    for row in values["parity"]:
        figures = {k: v for k, v in row["figures"].items() if k != "passed"}
        if format_ == "vireid-bench/1":
            figures = {k: v for k, v in figures.items() if k not in ("cos_p01", "below")}
        rest = {k: v for k, v in row.items() if k != "figures"}
        rows.append({**rest, **figures, "cosine_ok": row["figures"]["passed"]})
    return {**values, "format": format_, "parity": rows}


@pytest.mark.parametrize("format_", ["vireid-bench/1", "vireid-bench/2"])
def test_an_older_bench_reads_with_its_cosine_figures_inside_each_row(art: Path, format_: str) -> None:
    bench = _bench(art, [("ort-cpu", "int8", 100.0, True), ("openvino", "int8", 90.0, False)])
    old = bench_from_dict(_flattened(json.loads(bench.to_json()), format_))
    if format_ == "vireid-bench/2":
        assert old == bench
    for row, original in zip(old.parity, bench.parity, strict=True):
        assert row.figures.cos_min == original.figures.cos_min and row.passed == original.passed
        assert row.figures.bar == original.figures.bar


def test_a_committed_format_2_bench_reads_with_its_figures() -> None:
    """A bench.json that /2 really wrote (the precision benchmark's, committed), not one shaped by the test."""
    path = Path(__file__).parents[2] / "benchmarks/results/precision/bench-seed0/bench.json"
    raw = json.loads(path.read_text())
    assert raw["format"] == "vireid-bench/2"
    bench = read_bench(path)
    assert len(bench.parity) == len(raw["parity"]) > 0
    for row, written in zip(bench.parity, raw["parity"], strict=True):
        assert (row.figures.cos_min, row.figures.below, row.cosine_ok) == (
            written["cos_min"],
            written["below"],
            written["cosine_ok"],
        )


@pytest.mark.parametrize("problem", ["machine", "format", "export"])
def test_a_bench_of_another_machine_format_or_export_is_ignored_in_one_line(art: Path, problem: str) -> None:
    here = this_machine()
    elsewhere = dataclasses.replace(here, cpu="Intel(R) Xeon(R) Platinum 8480+", cpu_flags=("amx_bf16", "avx512f"))
    bench = _bench(art, [("ort-cpu", "int8", 500.0, True)], machine=elsewhere if problem == "machine" else here)
    if problem == "export":
        bench = dataclasses.replace(bench, manifest_created="2020-01-01T00:00:00+00:00")
    text = bench.to_json().replace(f'"format": "{FORMAT}"', '"format": "vireid-bench/0"')
    (art / BENCH_FILE).write_text(text if problem == "format" else bench.to_json())
    lines: list[str] = []
    with load_embedder(art, "visible", "auto", log=lines.append) as embedder:
        assert (embedder.backend, embedder.precision) == (_first_that_loads(art), "fp32")
    expected = {
        "machine": f"ignored {BENCH_FILE}: measured on Intel(R) Xeon(R) Platinum 8480+",
        "format": f"ignored {BENCH_FILE}: ",
        "export": "it measured an earlier export",
    }[problem]
    assert expected in lines[0] and len(lines) == 1 and "\n" not in lines[0]
    if problem == "format":
        assert "is not 'vireid-bench/1' or 'vireid-bench/2' or 'vireid-bench/3' or 'vireid-bench/4'" in lines[0]


def test_a_bench_where_nothing_passed_falls_back_to_the_order(art: Path) -> None:
    _write(art, _bench(art, [("ort-cpu", "int8", 500.0, False)]))
    lines: list[str] = []
    with load_embedder(art, "visible", "auto", log=lines.append) as embedder:
        assert embedder.precision == "fp32"
    assert "has no row that passed its parity bar" in lines[0]


def test_the_order_is_every_local_backend_of_the_registry() -> None:
    assert set(AUTO_ORDER) == {name for name, entry in BACKENDS.items() if not entry.remote}


def test_the_bench_plot_marks_rows_that_fail_parity(art: Path) -> None:
    from vireid.bench.report import FAILS_PARITY, markdown, plot_series

    bench = _bench(art, [("ort-cpu", "fp32", 100.0, True), ("openvino", "int8", 900.0, False)])
    labels = set(plot_series(bench))
    assert labels == {"ort-cpu fp32 (visible)", "openvino int8 (visible)" + FAILS_PARITY}
    assert "| cos min | cos p1 | below bar | cos mean |" in markdown(bench)
