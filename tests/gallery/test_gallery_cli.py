"""`vireid gallery` on the demo export: add a dataset, search across modalities with a camera filter, eval
against exact search, remove, info; another export refused in one line; a SIGKILL mid-ingest then a re-run
leaves every image stored exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from tests.helpers import artifact_copy
from vireid.cli.app import app
from vireid.data.sysu import SYSUMM01
from vireid.gallery.metadata import from_dataset
from vireid.gallery.store import open_store


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["gallery", *args])
    return result.exit_code, result.output


def test_add_search_eval_remove_and_info(demo_export: Path, synthetic_sysu: Path, tmp_path: Path) -> None:
    gallery = str(tmp_path / "g")
    # an IVF index probing 1 of its 8 lists: it misses, so eval has something to judge and to tune
    index = "ivf-sq8:nlist=8,nprobe=1"
    code, out = _run(
        "add", gallery, str(demo_export), "--data", str(synthetic_sysu), "--index", index, "--backend", "ort-cpu"
    )
    assert code == 0, out
    images = len(from_dataset(synthetic_sysu))
    assert f"added {images} crops" in out
    code, out = _run("add", gallery, str(demo_export), "--data", str(synthetic_sysu), "--backend", "ort-cpu")
    assert code == 0 and "added 0 crops" in out and f"skipped {images}" in out, out

    query = SYSUMM01(synthetic_sysu).query("all")[0].path
    hits = tmp_path / "hits.json"
    code, out = _run(
        "search",
        gallery,
        str(demo_export),
        "--query",
        query,
        "--modality",
        "infrared",
        "--camera",
        "cam1",
        "--top-k",
        "5",
        "--out",
        str(hits),
        "--picture",
        str(tmp_path / "hits.png"),
        "--backend",
        "ort-cpu",
    )
    assert code == 0, out
    matches = json.loads(hits.read_text())["queries"][0]["matches"]
    assert (
        len(matches) == 5
        and {m["camera"] for m in matches} == {"cam1"}
        and {m["modality"] for m in matches} == {"visible"}
    )
    assert (tmp_path / "hits.png").stat().st_size > 0

    code, out = _run("eval", gallery, str(demo_export), "--data", str(synthetic_sysu), "--backend", "ort-cpu")
    assert code == 0 and "visible: nprobe 1 -> 2" in out, out  # nprobe 1 missed exact search's answers
    lines = [line for line in out.splitlines() if "recall@10 vs exact" in line]
    assert len(lines) == 2 and all(line.endswith(": ok") for line in lines), out
    assert "ivf-sq8 nlist=8 nprobe=1 " not in _run("info", gallery)[1], "the tuned nprobe is kept"

    code, out = _run("remove", gallery, "--camera", "cam1")
    assert code == 0, out
    code, out = _run("info", gallery, "--json")
    info = json.loads(out)
    cam1 = sum(s.camera == "cam1" for s in from_dataset(synthetic_sysu))
    assert sum(p["crops"] for p in info["partitions"]) == images - cam1 and cam1 > 0


def test_a_query_through_another_export_is_refused_in_one_line(
    demo_export: Path, synthetic_sysu: Path, tmp_path: Path
) -> None:
    gallery = str(tmp_path / "g.db")  # milvus-lite: the same commands
    sample = SYSUMM01(synthetic_sysu).query("all")[0].path
    code, out = _run("add", gallery, str(demo_export), sample, "--modality", "infrared", "--camera", "cam3")
    assert code == 0, out
    other = artifact_copy(demo_export, tmp_path / "other")
    manifest = json.loads((other / "manifest.json").read_text())
    for artifact in manifest["artifacts"]:
        if artifact["file"] == "visible.onnx":
            artifact["sha256"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    code, out = _run("search", gallery, str(other), "--query", sample, "--modality", "infrared")
    assert code == 1 and "belongs to another export" in out and len(out.strip().splitlines()) == 1, out


def test_a_killed_ingest_loses_nothing_committed_and_a_rerun_completes_it(
    demo_export: Path, synthetic_sysu: Path, tmp_path: Path
) -> None:
    gallery = tmp_path / "g"
    command = [sys.executable, "-m", "vireid", "gallery", "add", str(gallery), str(demo_export), "--data"]
    command += [str(synthetic_sysu), "--backend", "ort-cpu", "--batch", "1"]  # one commit per image
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "runtime")}  # this checkout's
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    vectors = [gallery / modality / "vectors.f32" for modality in ("visible", "infrared")]
    first = 0
    while time.monotonic() < deadline and process.poll() is None:  # kill once a batch is surely committed:
        size = sum(v.stat().st_size for v in vectors if v.is_file())  # a second append follows the first commit
        if first and size > first:
            break
        first = first or size
        time.sleep(0.01)
    assert process.poll() is None, f"the ingest ended before it could be killed: {process.stderr.read()}"  # type: ignore[union-attr]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    store = open_store(gallery)
    partial = store.info().crops
    store.close()
    code, out = _run("add", str(gallery), str(demo_export), "--data", str(synthetic_sysu), "--backend", "ort-cpu")
    assert code == 0, out
    store = open_store(gallery)
    contents = [c for c in (s.path for s in from_dataset(synthetic_sysu))]
    assert store.info().crops == len(set(contents)) and all(p.pending == 0 for p in store.info().partitions)
    store.close()
    assert f"skipped {partial}" in out and 0 < partial < len(from_dataset(synthetic_sysu)), "killed mid-ingest"
