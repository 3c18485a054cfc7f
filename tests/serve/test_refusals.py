"""Refusals: a missing or wrong token, a read token on a write route, an oversize upload or image, a file that is
not an image, an unknown crop id, paths that try to leave the gallery's roots. Each is the right status and one
JSON line, and the service goes on answering."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.serve.conftest import build_gallery
from tests.serve.helpers import READ_TOKEN, WRITE_TOKEN, one_line_error, post_search, search, served
from vireid.serve.settings import Limits


def _query(sidecar: Path) -> Path:
    with open(sidecar, newline="", encoding="utf-8") as handle:
        return Path(next(r for r in csv.DictReader(handle) if r["modality"] == "infrared")["path"])


def _still_serving(client: TestClient, query: Path) -> None:
    assert search(client, query, modality="infrared", k=2)["matches"]


def test_tokens_scopes_and_uploads_are_refused_in_one_line(
    faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    query = _query(serve_sidecar)
    limits = Limits(upload_bytes=200_000, pixels=500_000)
    with served(faiss_gallery, demo_export, tmp_path, limits=limits) as client:
        bare = {"Authorization": ""}
        assert "needs a token" in one_line_error(client.get("/api/v1/info", headers=bare), 401)
        assert "not valid" in one_line_error(client.get("/api/v1/info", headers={"Authorization": "Bearer nope"}), 401)
        assert "not valid" in one_line_error(
            client.get("/api/v1/cameras", headers={**bare, "X-API-Key": WRITE_TOKEN[:-1]}), 401
        )
        image = {"files": ("a.png", query.read_bytes(), "image/png")}
        read_only = client.post("/api/v1/crops", data={"modality": "infrared"}, files=image)
        assert "may only read" in one_line_error(read_only, 403)
        big = os.urandom(300_000)
        over = client.post(
            "/api/v1/search", data={"modality": "infrared"}, files={"image": ("q.jpg", big, "image/jpeg")}
        )
        assert "200,000" in one_line_error(over, 413)
        bomb = io.BytesIO()
        Image.new("L", (2000, 2000)).save(bomb, "PNG")  # 4 MP of zeros: a few kB on the wire
        assert "pixels" in one_line_error(post_search_bytes(client, bomb.getvalue()), 413)
        text = post_search_bytes(client, b"GIF89a? no, just text pretending to be a JPEG", name="q.jpg")
        assert "not an image" in one_line_error(text, 415)
        gif = io.BytesIO()
        Image.new("RGB", (40, 80)).save(gif, "GIF")
        assert "GIF" in one_line_error(post_search_bytes(client, gif.getvalue()), 415)
        assert "no crop 99999999" in one_line_error(post_search(client, crop_id=99999999), 404)
        assert "no crop" in one_line_error(client.get("/api/v1/crops/99999999/image"), 404)
        assert "exactly one" in one_line_error(post_search(client, query, crop_id=1, modality="infrared"), 400)
        assert "modality" in one_line_error(post_search(client, query), 400)
        assert "HH:MM" in one_line_error(post_search(client, query, modality="infrared", hours="night"), 400)
        assert "k" in one_line_error(post_search(client, query, modality="infrared", k=0), 422)
        assert "another search" in one_line_error(
            post_search(
                client,
                query,
                modality="infrared",
                cursor=search(client, query, modality="infrared", k=1)["next_cursor"],
                cameras=["cam1"],
            ),
            400,
        )
        _still_serving(client, query)


def post_search_bytes(client: TestClient, data: bytes, name: str = "q.png") -> object:
    return client.post("/api/v1/search", data={"modality": "infrared"}, files={"image": (name, data, "image/png")})


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/crops/../../../../etc/passwd/image",
        "/api/v1/crops/%2e%2e%2f%2e%2e%2fetc%2fpasswd/image",
        "/api/v1/crops/%2Fetc%2Fpasswd/image",
        "/api/v1/crops//etc/passwd/image",
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static//etc/passwd",
    ],
)
def test_paths_from_the_client_are_never_opened(
    faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path, path: str
) -> None:
    with served(faiss_gallery, demo_export, tmp_path) as client:
        answer = client.get(path)
        assert answer.status_code in (404, 422) and "root:" not in answer.text, (path, answer.status_code, answer.text)
        one_line_error(answer, answer.status_code)
        _still_serving(client, _query(serve_sidecar))


def test_a_crop_whose_file_became_a_symlink_out_of_the_roots_is_refused(
    demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    root, outside = tmp_path / "crops", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    source = _query(serve_sidecar)
    shutil.copy(source, root / "a.jpg")
    Image.open(source).rotate(90).save(root / "b.png")
    sidecar = root / "crops.csv"
    sidecar.write_text("path,modality,camera\na.jpg,visible,cam1\nb.png,visible,cam1\n", encoding="utf-8")
    gallery = build_gallery(str(tmp_path / "gallery"), demo_export, sidecar)
    secret = outside / "secret.jpg"
    shutil.copy(source, secret)
    (root / "a.jpg").unlink()
    (root / "a.jpg").symlink_to(secret)
    with served(gallery, demo_export, tmp_path) as client:
        ids = [m["crop_id"] for m in search(client, source, modality="visible", same_modality="true", k=2)["matches"]]
        answers = {crop_id: client.get(f"/api/v1/crops/{crop_id}/image") for crop_id in ids}
        refused = [a for a in answers.values() if a.status_code == 403]
        served_ok = [a for a in answers.values() if a.status_code == 200]
        assert len(refused) == 1 and len(served_ok) == 1, {k: (a.status_code, a.text[:80]) for k, a in answers.items()}
        assert "outside the folders" in one_line_error(refused[0], 403)


def test_a_session_cookie_authorises_images_and_a_bad_one_is_refused(
    faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    with served(faiss_gallery, demo_export, tmp_path) as client:
        crop_id = search(client, _query(serve_sidecar), modality="infrared", k=1)["matches"][0]["crop_id"]
        client.headers.pop("Authorization")
        assert "not valid" in one_line_error(
            client.post("/api/v1/session", data={"token": "wrong-token-xxxxxxxx"}), 401
        )
        login = client.post("/api/v1/session", data={"token": READ_TOKEN})
        assert login.status_code == 200 and login.json() == {"scope": "read"}
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and READ_TOKEN.lower() not in cookie
        assert client.get(f"/api/v1/crops/{crop_id}/image").status_code == 200
        client.cookies.clear()
        client.cookies.set("vireid_session", "1.9999999999.forged")
        assert "log in again" in one_line_error(client.get(f"/api/v1/crops/{crop_id}/image"), 401)


def test_no_cross_origin_access_unless_an_origin_is_allowed(
    faiss_gallery: str, demo_export: Path, tmp_path: Path
) -> None:
    preflight = {"Origin": "https://ops.example", "Access-Control-Request-Method": "POST"}
    with served(faiss_gallery, demo_export, tmp_path) as client:
        answer = client.options("/api/v1/search", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
        assert "access-control-allow-origin" not in client.get("/api/v1/info", headers={"Origin": "https://x"}).headers
    with served(faiss_gallery, demo_export, tmp_path, cors_origins=("https://ops.example",)) as client:
        allowed = client.options("/api/v1/search", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://ops.example"
        other = client.options("/api/v1/search", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_a_write_while_another_process_writes_is_refused_with_503(
    faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    from vireid.gallery.store import open_store

    gallery = str(shutil.copytree(faiss_gallery, tmp_path / "gallery"))
    with served(gallery, demo_export, tmp_path) as client:
        other_writer = open_store(gallery, writable=True)  # what a running `vireid gallery add` holds
        try:
            fresh = io.BytesIO()
            Image.open(_query(serve_sidecar)).rotate(180).save(fresh, "PNG")  # not stored yet: it must be written
            files = {"files": ("a.png", fresh.getvalue(), "image/png")}
            headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
            busy = client.post("/api/v1/crops", data={"modality": "visible"}, files=files, headers=headers)
            assert "written by another process" in one_line_error(busy, 503)
            assert not list((tmp_path / "uploads").glob("*"))  # a refused write leaves no image behind
            removal = client.request("DELETE", "/api/v1/crops", json={"cameras": ["cam1"]}, headers=headers)
            assert "written by another process" in one_line_error(removal, 503)
        finally:
            other_writer.close()
        _still_serving(client, _query(serve_sidecar))
