"""`vireid serve` as a real process: concurrent clients get exactly the answers of the same searches made one at a
time (micro-batching never mixes rows), SIGTERM lets the requests in flight finish, and a public address without a
token is refused in one line before anything is bound."""

from __future__ import annotations

import csv
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
from typer.testing import CliRunner

from tests.serve.helpers import READ_TOKEN
from tests.serve.live import live_service
from vireid.cli.app import app

CLIENTS, SEARCHES = 8, 20


def _queries(sidecar: Path, count: int) -> list[tuple[bytes, str]]:
    with open(sidecar, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [(Path(r["path"]).read_bytes(), r["modality"]) for r in rows[:: max(1, len(rows) // count)][:count]]


def _search(client: httpx2.Client, image: bytes, modality: str) -> list[tuple[int, float]]:
    answer = client.post("/api/v1/search", data={"modality": modality, "k": "8"}, files={"image": ("q.jpg", image)})
    answer.raise_for_status()
    return [(m["crop_id"], m["score"]) for m in answer.json()["matches"]]


def _client(url: str) -> httpx2.Client:
    return httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {READ_TOKEN}"}, timeout=60)


def test_concurrent_clients_get_the_answers_of_single_requests(
    faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    queries = _queries(serve_sidecar, SEARCHES)
    with live_service(faiss_gallery, demo_export, tmp_path, "--max-wait-ms", "5") as service:
        with _client(service.url) as client:
            alone = [_search(client, image, modality) for image, modality in queries]

        def one_client(offset: int) -> list[list[tuple[int, float]]]:
            with _client(service.url) as client:
                order = [(offset + i) % SEARCHES for i in range(SEARCHES)]  # each client its own order
                return [_search(client, *queries[i]) for i in order]

        with ThreadPoolExecutor(CLIENTS) as pool:
            together = list(pool.map(one_client, range(CLIENTS)))
        with _client(service.url) as client:
            metrics = client.get("/metrics").text
    for offset, answers in enumerate(together):
        assert answers == [alone[(offset + i) % SEARCHES] for i in range(SEARCHES)]
    batched = [line for line in metrics.splitlines() if line.startswith("vireid_embed_batch_images_count")]
    calls = sum(float(line.split()[-1]) for line in batched)
    assert calls < CLIENTS * SEARCHES + SEARCHES, "concurrent queries were never merged into one engine call"


def test_sigterm_finishes_the_requests_in_flight(
    faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    """Each request sends its headers and half its body, then waits until SIGTERM has been sent: the service has
    them in flight when it is told to stop, and must still answer every one."""
    queries = _queries(serve_sidecar, 4)
    signalled = threading.Event()
    results: list[list[tuple[int, float]]] = []
    with live_service(faiss_gallery, demo_export, tmp_path) as service:

        def request(query: tuple[bytes, str]) -> None:
            image, modality = query
            fields = {"modality": modality, "k": "8"}
            built = httpx2.Request("POST", "/", data=fields, files={"image": ("q.jpg", image)})
            body = built.read()

            def halves() -> Any:
                yield body[: len(body) // 2]
                signalled.wait(30)
                yield body[len(body) // 2 :]

            headers = {"Content-Type": built.headers["Content-Type"]}
            with _client(service.url) as client:
                answer = client.post("/api/v1/search", content=halves(), headers=headers)
            answer.raise_for_status()
            results.append([(m["crop_id"], m["score"]) for m in answer.json()["matches"]])

        threads = [threading.Thread(target=request, args=(q,)) for q in queries]
        for thread in threads:
            thread.start()
        threading.Event().wait(0.5)  # the headers and first halves are in
        service.process.send_signal(signal.SIGTERM)
        threading.Event().wait(0.2)
        signalled.set()
        for thread in threads:
            thread.join(60)
        code = service.stop()
    # uvicorn ends by re-raising the SIGTERM it handled, after the graceful shutdown
    assert code in (0, -signal.SIGTERM), service.log.read_text()[-2000:]
    assert len(results) == len(queries) and all(len(r) == 8 for r in results)


def test_a_public_address_without_a_token_is_refused_in_one_line(faiss_gallery: str, demo_export: Path) -> None:
    result = CliRunner().invoke(app, ["serve", faiss_gallery, str(demo_export), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "--token-file" in result.output and len(result.output.strip().splitlines()) == 1
