"""What only a real Milvus server shows (`tests/servers/milvus.py`): more crops than one query may return, an
IVF index that is really built (a server indexes sealed segments of 1,024 rows and more), and a server killed
mid-ingest. The conformance suite (`test_store_conformance.py`) runs over the server as well."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from tests.servers.milvus import MilvusProcess
from vireid.cli.app import app
from vireid.errors import VireidError
from vireid.gallery.ingest import content_hash
from vireid.gallery.metadata import from_dataset
from vireid.gallery.milvus_store import MAX_WINDOW, content_id
from vireid.gallery.records import Crop, CropFilter, Fingerprint
from vireid.gallery.store import open_store

DIM = 8
CROPS = MAX_WINDOW + 3_616  # 20,000 in one partition: past the 16,384 rows one query may return


def _crops(n: int) -> tuple[list[Crop], np.ndarray]:
    """n visible crops; the 100 with the highest ids (the last a primary-key page reaches) are on camera "late"."""
    contents = sorted((hashlib.sha256(f"{i}".encode()).hexdigest() for i in range(n)), key=content_id)
    crops = [
        Crop(c, f"/c/{i}.jpg", "visible", "late" if i >= n - 100 else f"cam{i % 6}") for i, c in enumerate(contents)
    ]
    vectors = np.random.default_rng(0).normal(size=(n, DIM)).astype(np.float32)
    return crops, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_more_crops_than_one_query_returns_are_all_seen(milvus_location: str) -> None:
    crops, vectors = _crops(CROPS)
    store = open_store(milvus_location, create=True, index="ivf-sq8:nlist=16,nprobe=16")
    store.set_fingerprint(Fingerprint("a" * 64, "b" * 64, DIM))
    for start in range(0, CROPS, 5_000):
        store.add(crops[start : start + 5_000], vectors[start : start + 5_000])
    store.finish()
    assert store.info().crops == CROPS and "ivf-sq8 nlist=16" in store.describe("visible")
    assert store.cameras("visible") == sorted({f"cam{i}" for i in range(6)} | {"late"})
    last = vectors[-3:]  # crops of the last page: brute force must reach them, and the index must find them
    exact = store.exact_search("visible", last, 10, CropFilter())
    assert [row[0].crop.content for row in exact] == [c.content for c in crops[-3:]]
    found = store.search("visible", last, 10, CropFilter())  # SQ8 codes choose, the raw vectors score
    assert [[m.id for m in row] for row in found] == [[m.id for m in row] for row in exact]
    np.testing.assert_allclose([[m.score for m in r] for r in found], [[m.score for m in r] for r in exact], atol=1e-6)
    gone = CropFilter(cameras=tuple(f"cam{i}" for i in range(6)))
    assert store.remove(gone) == CROPS - 100
    assert store.info().crops == 100 and store.cameras("visible") == ["late"]
    assert {m.crop.camera for m in store.exact_search("visible", vectors[:1], 200, CropFilter())[0]} == {"late"}
    store.close()


def test_a_server_killed_mid_ingest_loses_nothing_acknowledged_and_a_rerun_stores_every_crop_once(
    own_milvus_server: MilvusProcess, demo_export: Path, synthetic_sysu: Path
) -> None:
    location = own_milvus_server.location("gallery")
    sources = from_dataset(synthetic_sysu)
    hashes = {content_hash(s.path) for s in sources}
    command = [sys.executable, "-m", "vireid", "gallery", "add", location, str(demo_export), "--data"]
    command += [str(synthetic_sysu), "--backend", "ort-cpu", "--batch", "1"]  # one upsert per image
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "runtime")}  # this checkout's
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seen = _stored_while_running(location, hashes, process)
    if process.poll() is not None or not seen:
        raise AssertionError(f"the ingest ended before the server could be killed: {process.communicate()[1]}")
    own_milvus_server.kill()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1 and err.strip().startswith("error: cannot reach Milvus at"), err
    assert len(err.strip().splitlines()) == 1, err

    own_milvus_server.start()  # the same data directory
    store = open_store(location)
    kept = store.known(sorted(hashes))
    store.close()
    assert seen <= kept < hashes, "an acknowledged crop was lost, or the ingest was not interrupted"
    result = CliRunner().invoke(
        app, ["gallery", "add", location, str(demo_export), "--data", str(synthetic_sysu), "--backend", "ort-cpu"]
    )
    assert result.exit_code == 0 and f"skipped {len(kept)} already stored" in result.output, result.output
    store = open_store(location)
    # info counts with count(*), which counts an entity inserted twice twice (a query or search returns it once)
    assert store.info().crops == len(hashes) and store.known(sorted(hashes)) == hashes
    store.close()


def _stored_while_running(location: str, hashes: set[str], process: subprocess.Popen[str]) -> set[str]:
    """The crops the running ingest has stored (and so had acknowledged), once there are a few."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            store = open_store(location)
        except VireidError:  # not created yet
            time.sleep(0.2)
            continue
        try:
            while time.monotonic() < deadline and process.poll() is None:
                seen = store.known(sorted(hashes))
                if len(seen) >= 3:
                    return seen
                time.sleep(0.05)
        finally:
            store.close()
    return set()
