"""A served gallery for the service tests: the demo export's evaluation images as a tracker would log them.

`serve_sidecar` writes a sidecar (`vireid gallery add --sidecar`) over the generated SYSU-MM01 tree: every
evaluation image with its layout's camera and modality, a track per identity and camera, and a capture time
spread over five days and every hour, so that hour windows across midnight, date ranges and one-per-track have
something to tell apart. `faiss_gallery`, `lite_gallery` and `server_gallery` hold it in a FAISS folder, in
milvus-lite and on the test run's Milvus server (`tests/servers/milvus.py`).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vireid.eval.splits import evaluation_split

START = int(dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc).timestamp())
"""Midnight UTC of the first day of capture times."""
DAYS = 5


@pytest.fixture(scope="session")
def serve_sidecar(tmp_path_factory: pytest.TempPathFactory, synthetic_sysu: Path) -> Path:
    split = evaluation_split(synthetic_sysu)
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("serve-sidecar") / "crops.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "modality", "camera", "time", "track", "identity"])
        for sample in (*split.visible, *split.infrared):
            time = START + int(rng.integers(0, DAYS * 86400))
            writer.writerow(
                [sample.path, sample.modality, f"cam{sample.camid}", time, sample.pid * 10 + sample.camid, sample.pid]
            )
    return path


def build_gallery(location: str, demo_export: Path, sidecar: Path) -> str:
    from vireid.gallery.ingest import ingest
    from vireid.gallery.metadata import from_sidecar
    from vireid.gallery.store import open_store

    store = open_store(location, create=True)
    try:
        ingest(store, demo_export, from_sidecar(sidecar), backend="ort-cpu")
    finally:
        store.close()
    return location


@pytest.fixture(scope="session")
def faiss_gallery(tmp_path_factory: pytest.TempPathFactory, demo_export: Path, serve_sidecar: Path) -> str:
    return build_gallery(str(tmp_path_factory.mktemp("served") / "gallery"), demo_export, serve_sidecar)


@pytest.fixture(scope="session")
def lite_gallery(tmp_path_factory: pytest.TempPathFactory, demo_export: Path, serve_sidecar: Path) -> str:
    return build_gallery(str(tmp_path_factory.mktemp("served-lite") / "gallery.db"), demo_export, serve_sidecar)


@pytest.fixture(scope="module")
def server_gallery(milvus_server: object, demo_export: Path, serve_sidecar: Path) -> Iterator[str]:
    with milvus_server.collection() as location:  # type: ignore[attr-defined]
        yield build_gallery(location, demo_export, serve_sidecar)
