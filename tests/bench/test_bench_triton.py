"""`vireid bench --backends triton --triton-url ...`: the same parity rows as every backend, and the serving view
(throughput and client latency against concurrency, beside the server's own times) instead of in-process latency.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vireid.bench.runner import NO_SERVER, BenchOptions, Candidate, _candidates
from vireid.cli.app import app
from vireid.deploy.triton_process import HostProcess
from vireid_runtime import read_manifest
from vireid_runtime.bench_result import FORMAT, bench_from_dict, read_bench


def test_bench_over_triton_has_the_parity_of_the_backend_it_serves_and_the_serving_view(
    triton_host: HostProcess, demo_export: Path, tmp_path: Path
) -> None:
    args = ["bench", str(demo_export), "--out", str(tmp_path), "--backends", "ort-cpu,triton", "--precision", "fp32"]
    args += ["--triton-url", triton_host.grpc_url, "--batch", "1", "--runs", "3", "--warmup", "1"]
    args += ["--serving-batch", "1,4", "--concurrency", "1,3", "--branch", "visible"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    bench = read_bench(tmp_path / "bench.json")

    local, remote = bench.parity_of("ort-cpu", "fp32"), bench.parity_of("triton", "fp32")
    assert local is not None and remote is not None and remote.passed
    assert remote.figures.images == local.figures.images
    assert abs(remote.figures.cos_min - local.figures.cos_min) < 1e-6  # the same graph on the same engine
    assert abs(remote.figures.max_abs_diff - local.figures.max_abs_diff) < 1e-6
    for split, figures in remote.splits.items():
        assert (figures.R1, figures.mAP) == (local.splits[split].R1, local.splits[split].mAP)

    assert {row.backend for row in bench.latency} == {"ort-cpu"}  # a server's compute is not timed here
    serving = {(row.batch, row.concurrency): row for row in bench.serving}
    assert set(serving) == {(1, 1), (1, 3), (4, 1), (4, 3)}
    for (_batch, clients), row in serving.items():
        assert (row.backend, row.precision, row.modality, row.model) == ("triton", "fp32", "visible", "visible-fp32")
        assert row.client.runs == 3 * clients and row.client.p99_ms >= row.client.p50_ms > 0
        assert row.images_per_s > 0 and row.server.requests >= 3 * clients
        assert row.server.compute_ms > 0 and 1 <= row.server.executions <= row.server.requests
    assert bench.settings.triton_url == triton_host.grpc_url and bench.settings.concurrency == (1, 3)
    markdown = (tmp_path / "bench.md").read_text()
    assert f"## Serving ({triton_host.grpc_url})" in markdown and "| triton fp32 | visible | 4 | 3 |" in markdown
    assert json.loads((tmp_path / "bench.json").read_text())["format"] == FORMAT == "vireid-bench/4"


def test_without_a_url_triton_is_skipped_with_how_to_give_one(demo_export: Path) -> None:
    skipped: list = []  # type: ignore[type-arg]
    reference = Candidate("torch", "fp32", {}, {})
    options = BenchOptions(backends=("triton",), precisions=("fp32",))
    assert _candidates(demo_export, read_manifest(demo_export), options, "cpu", reference, skipped) == []
    assert [(s.backend, s.precision, s.reason) for s in skipped] == [("triton", "fp32", NO_SERVER)]
    assert "--triton-url grpc://HOST:8001" in NO_SERVER


def test_a_triton_url_without_the_triton_backend_or_malformed_is_one_line(tmp_path: Path) -> None:
    for extra, problem in (
        (["--backends", "ort-cpu", "--triton-url", "grpc://127.0.0.1:1"], "add triton to --backends"),
        (["--triton-url", "https://127.0.0.1:1"], "--triton-url: triton URL 'https://127.0.0.1:1': the scheme"),
    ):
        result = CliRunner().invoke(app, ["bench", str(tmp_path), *extra])
        assert result.exit_code == 1 and problem in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def test_a_bench_json_of_format_3_reads_with_no_serving_rows(demo_export: Path, tmp_path: Path) -> None:
    """/4 only added serving rows and their settings, all with defaults: a /3 file reads as it was."""
    from tests.runtime.test_auto import _bench

    values = json.loads(_bench(demo_export, [("ort-cpu", "fp32", 100.0, True)]).to_json())
    del values["serving"]
    for key in ("serving_batches", "concurrency", "triton_url"):
        del values["settings"][key]
    bench = bench_from_dict({**values, "format": "vireid-bench/3"})
    assert bench.serving == () and bench.format == FORMAT and bench.parity[0].figures.cos_min == 0.9999
