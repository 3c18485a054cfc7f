"""Building a service for a test, and reading its answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

READ_TOKEN = "read-token-for-the-tests-0123456789"
WRITE_TOKEN = "write-token-for-the-tests-9876543210"


@contextmanager
def served(gallery: str, demo_export: Path, folder: Path, **changes: Any) -> Iterator[TestClient]:
    """A `GalleryService` on `gallery` in this process (ort-cpu fp32, both tokens), behind FastAPI's TestClient
    with the read token; `changes` override settings."""
    from vireid.serve.app import create_app
    from vireid.serve.service import GalleryService
    from vireid.serve.settings import ServeSettings

    values: dict[str, Any] = {
        "gallery": gallery,
        "art_dir": demo_export,
        "backend": "ort-cpu",
        "precision": "fp32",
        "read_token": READ_TOKEN,
        "write_token": WRITE_TOKEN,
        "audit_log": folder / "audit.jsonl",
        "uploads": folder / "uploads",
        **changes,
    }
    service = GalleryService(ServeSettings(**values))
    with TestClient(create_app(service), headers={"Authorization": f"Bearer {READ_TOKEN}"}) as client:
        yield client


def search(client: TestClient, image: Path | None = None, **fields: Any) -> dict[str, Any]:
    answer = post_search(client, image, **fields)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def post_search(client: TestClient, image: Path | None = None, **fields: Any) -> Any:
    files = {"image": (image.name, image.read_bytes(), "application/octet-stream")} if image else None
    data = {key: value for key, value in fields.items() if value is not None}
    return client.post("/api/v1/search", data=data, files=files)


def walk(client: TestClient, image: Path | None = None, **fields: Any) -> list[dict[str, Any]]:
    """Every page of a search, following next_cursor; the matches in order."""
    matches: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = search(client, image, cursor=cursor, **fields)
        matches += page["matches"]
        cursor = page["next_cursor"]
        if cursor is None:
            return matches


def one_line_error(answer: Any, status: int) -> str:
    assert answer.status_code == status, (answer.status_code, answer.text)
    body = answer.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and body["error"], body
    message: str = body["error"]
    return message
