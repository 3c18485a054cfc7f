"""The search API against the demo export: the same answers as `vireid gallery search`, filters that hold, pages
that give every allowed crop once, re-query by id, an audit line per search, and writes behind the write token."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.serve.helpers import WRITE_TOKEN, search, served, walk
from vireid.cli.app import app

QUERY_FILTERS = {"cameras": ["cam1", "cam4"], "since": "2026-11-03T00:00:00", "until": "2026-11-05T12:00:00"}


@pytest.fixture(scope="module")
def client(faiss_gallery: str, demo_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with served(faiss_gallery, demo_export, tmp_path_factory.mktemp("api")) as client:
        yield client


def _rows(sidecar: Path) -> list[dict[str, str]]:
    with open(sidecar, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _infrared_query(sidecar: Path, index: int = 0) -> Path:
    return Path([r for r in _rows(sidecar) if r["modality"] == "infrared"][index]["path"])


def _epoch(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp())


def test_a_search_returns_what_vireid_gallery_search_returns(
    client: TestClient, faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    query = _infrared_query(serve_sidecar)
    out = tmp_path / "hits.json"
    args = ["gallery", "search", faiss_gallery, str(demo_export), "--query", str(query), "--modality", "infrared"]
    args += ["--camera", "cam1", "--camera", "cam4", "--since", str(_epoch(QUERY_FILTERS["since"]))]  # type: ignore[arg-type]
    args += ["--until", str(_epoch(QUERY_FILTERS["until"])), "--top-k", "10", "--out", str(out)]  # type: ignore[arg-type]
    result = CliRunner().invoke(app, [*args, "--backend", "ort-cpu", "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    expected = json.loads(out.read_text())["queries"][0]["matches"]
    answer = search(client, query, modality="infrared", k=10, **QUERY_FILTERS)
    assert [m["crop_id"] for m in answer["matches"]] == [str(m["id"]) for m in expected] and len(expected) == 10
    np.testing.assert_allclose([m["score"] for m in answer["matches"]], [m["score"] for m in expected], atol=1e-5)
    assert answer["index"]["exact"] and answer["query"]["searched"] == "visible"
    assert answer["fingerprint"]["dim"] > 0 and answer["took_ms"] > 0


def test_filters_and_one_per_track_hold(client: TestClient, serve_sidecar: Path) -> None:
    query = _infrared_query(serve_sidecar, 3)
    since, until = _epoch(QUERY_FILTERS["since"]), _epoch(QUERY_FILTERS["until"])
    matches = walk(client, query, modality="infrared", k=50, **QUERY_FILTERS)
    allowed = [r for r in _rows(serve_sidecar) if r["modality"] == "visible" and r["camera"] in ("cam1", "cam4")]
    allowed = [r for r in allowed if since <= int(r["time"]) <= until]
    assert len(matches) == len(allowed) > 10
    assert all(m["camera"] in ("cam1", "cam4") and since <= m["timestamp"] <= until for m in matches)
    grouped = walk(client, query, modality="infrared", k=5, group_by="track")
    tracks = [(m["camera"], m["track"]) for m in grouped]
    assert (
        len(tracks)
        == len(set(tracks))
        == len({(r["camera"], r["track"]) for r in _rows(serve_sidecar) if r["modality"] == "visible"})
    )
    cut = walk(client, query, modality="infrared", k=20, min_score=0.5)
    assert all(m["score"] >= 0.5 for m in cut)


def test_walking_every_page_gives_each_allowed_crop_once(client: TestClient, serve_sidecar: Path) -> None:
    query = _infrared_query(serve_sidecar, 1)
    first = search(client, query, modality="infrared", k=7)
    pages = walk(client, query, modality="infrared", k=7)
    ids = [m["crop_id"] for m in pages]
    assert (
        len(ids) == len(set(ids)) == first["allowed"] == sum(r["modality"] == "visible" for r in _rows(serve_sidecar))
    )
    scores = [m["score"] for m in pages]
    assert scores == sorted(scores, reverse=True)


def test_a_re_query_by_crop_id_is_led_by_that_crop(client: TestClient, serve_sidecar: Path) -> None:
    found = search(client, _infrared_query(serve_sidecar), modality="infrared", k=3)["matches"]
    chosen = found[2]
    again = search(client, crop_id=chosen["crop_id"], same_modality="true", k=5)
    assert again["query"] == {
        "modality": "visible",
        "searched": "visible",
        "crop_id": chosen["crop_id"],
        "image_sha256": None,
    }
    assert again["matches"][0]["crop_id"] == chosen["crop_id"] and again["matches"][0]["score"] == pytest.approx(
        1, abs=1e-4
    )
    across = search(client, crop_id=chosen["crop_id"], k=5)
    assert across["query"]["searched"] == "infrared" and all(m["modality"] == "infrared" for m in across["matches"])


def test_milvus_ids_past_javascripts_integers_go_out_as_strings_and_come_back(
    lite_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    with served(lite_gallery, demo_export, tmp_path) as client:
        first = search(client, _infrared_query(serve_sidecar), modality="infrared", k=2)["matches"][0]
        assert int(first["crop_id"]) > 2**53  # a 60-bit Milvus id: as a JSON number it would lose digits in a browser
        again = search(client, crop_id=first["crop_id"], same_modality="true", k=1)["matches"][0]
        assert again["crop_id"] == first["crop_id"]
        assert client.get(first["image_url"]).status_code == 200


def test_each_search_writes_one_audit_line(client: TestClient, serve_sidecar: Path, tmp_path: Path) -> None:
    log = client.app.state.service.settings.audit_log  # type: ignore[attr-defined]
    before = log.read_text().splitlines() if log.exists() else []
    answers = [
        search(client, _infrared_query(serve_sidecar, i), modality="infrared", k=4, cameras=["cam2"]) for i in range(3)
    ]
    lines = [json.loads(line) for line in log.read_text().splitlines()[len(before) :]]
    assert [entry["action"] for entry in lines] == ["search"] * 3
    for entry, answer in zip(lines, answers, strict=True):
        assert entry["results"] == [int(m["crop_id"]) for m in answer["matches"]]
        assert entry["filters"]["cameras"] == ["cam2"] and entry["who"].startswith("read-token via bearer")
        assert entry["query"].startswith("image:") and entry["time"]


def test_cameras_info_and_health(client: TestClient) -> None:
    cameras = client.get("/api/v1/cameras").json()
    assert cameras == {"visible": ["cam1", "cam2", "cam4", "cam5"], "infrared": ["cam3", "cam6"]}
    info = client.get("/api/v1/info").json()
    assert info["crops"] > 0 and info["reads_need_token"] and info["writes_enabled"]
    assert "ort-cpu fp32" in info["backend"]["visible"]
    assert client.get("/healthz").json() == {"status": "ok"}
    metrics = client.get("/metrics").text
    assert 'vireid_requests_total{method="GET",route="/api/v1/cameras",status="200"}' in metrics
    assert "vireid_embed_batch_images_bucket" in metrics
    assert client.get("/docs").status_code == 200 and "/api/v1/search" in client.get("/openapi.json").text


def test_writes_add_each_crop_once_and_remove_it(
    faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    gallery = shutil.copytree(faiss_gallery, tmp_path / "gallery")
    crop = _infrared_query(serve_sidecar, 5)
    new = tmp_path / "new.png"
    from PIL import Image

    Image.open(crop).convert("RGB").rotate(180).save(new)  # new content, same person
    with served(str(gallery), demo_export, tmp_path) as client:
        writer = {"Authorization": f"Bearer {WRITE_TOKEN}"}
        files = [
            ("files", ("a.png", new.read_bytes(), "image/png")),
            ("files", ("b.jpg", crop.read_bytes(), "image/jpeg")),
        ]
        data = {"modality": "infrared", "camera": "cam9", "time": "2026-11-20T23:30:00", "track": "77"}
        added = client.post("/api/v1/crops", data=data, files=files, headers=writer)
        assert added.status_code == 200, added.text
        body = added.json()
        assert body["added"] == 1 and body["skipped"] == 1  # b.jpg is the stored crop's own content
        crop_id = body["crops"][0]["crop_id"]
        again = client.post("/api/v1/crops", data=data, files=files[:1], headers=writer).json()
        assert again["added"] == 0 and again["skipped"] == 1
        found = search(client, new, modality="infrared", same_modality="true", cameras=["cam9"], k=3)
        assert [m["crop_id"] for m in found["matches"]] == [crop_id] and found["matches"][0]["track"] == 77
        assert client.get(f"/api/v1/crops/{crop_id}/image").content == new.read_bytes()
        removed = client.request("DELETE", "/api/v1/crops", json={"ids": [crop_id]}, headers=writer)
        assert removed.status_code == 200 and removed.json()["removed"] == 1
        assert search(client, new, modality="infrared", same_modality="true", cameras=["cam9"], k=3)["matches"] == []
        actions = [json.loads(line)["action"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert actions.count("add") == 2 and actions.count("remove") == 1
