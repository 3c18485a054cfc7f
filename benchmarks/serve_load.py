"""`vireid serve` under load, side by side in one run: micro-batching on and off, 1 to 64 concurrent clients.

Takes a `vireid demo` folder (its export and its generated dataset), builds a FAISS gallery of every evaluation
image with a sidecar (capture times over five days, tracks), and starts `vireid serve` on 127.0.0.1 twice: with
micro-batching (the export's optimum batch, at most 2 ms of wait for requests on their way) and without
(`--max-batch 1`), on the engine `--backend auto` picks. For each concurrency level
the clients (threads with one HTTP connection each) send `--requests` searches in all, each with a real crop as an
uploaded infrared or visible query, bounded by `--max-seconds`; throughput, p50 / p99 latency, errors, the
service's engine batch sizes (from /metrics) and its RSS after warm-up and after the level are recorded.
Then a mixed run of `--mixed-seconds`: searching clients while one client uploads crops and another removes
them, after which the gallery must hold exactly what was added minus what was removed.

Run alone on the machine (the load generator shares the cores with the service, which is part of what it
measures):
    python benchmarks/serve_load.py vireid-demo --out benchmarks/results/serve
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.serve.helpers import READ_TOKEN as READ  # noqa: E402  (the tests' service handling, reused)
from tests.serve.helpers import WRITE_TOKEN as WRITE  # noqa: E402
from tests.serve.live import LiveService, start_service  # noqa: E402

START = int(dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc).timestamp())


@dataclass(frozen=True)
class Level:
    batching: str
    clients: int
    requests: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    engine_calls: int
    mean_batch: float
    rss_mib: float


def cpu_flags() -> str:
    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    found = {word for word in text.split() if word in wanted}
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "?")
    return f"{model}, {os.cpu_count()} cores; flags: {' '.join(sorted(found))}"


def build_gallery(demo: Path, folder: Path) -> tuple[str, list[tuple[Path, str]]]:
    from vireid.eval.splits import evaluation_split
    from vireid.gallery.ingest import ingest
    from vireid.gallery.metadata import from_sidecar
    from vireid.gallery.store import open_store

    split = evaluation_split(demo / "data")
    rng = np.random.default_rng(0)
    sidecar = folder / "crops.csv"
    samples = [*split.visible, *split.infrared]
    with open(sidecar, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["path", "modality", "camera", "time", "track"])
        for s in samples:
            out.writerow(
                [s.path, s.modality, f"cam{s.camid}", START + int(rng.integers(0, 5 * 86400)), s.pid * 10 + s.camid]
            )
    gallery = folder / "gallery"
    store = open_store(str(gallery), create=True)
    try:
        ingest(store, demo / "artifacts", from_sidecar(sidecar), backend="ort-cpu")
    finally:
        store.close()
    return str(gallery), [(Path(s.path), s.modality) for s in samples]


def start(gallery: str, demo: Path, folder: Path, batching: bool, wait_ms: float | None = None) -> LiveService:
    """The service as `vireid serve` starts by default (`--backend auto`: the demo bench's fastest engine that
    passed parity), with both tokens, micro-batching on or off."""
    options = ["--max-batch", "1"] if not batching else [] if wait_ms is None else ["--max-wait-ms", str(wait_ms)]
    return start_service(gallery, demo / "artifacts", folder, *options, engine=("--backend", "auto"))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def engine_calls(client: httpx2.Client) -> tuple[int, float]:
    """(engine calls, images embedded) so far, over both branches, from /metrics."""
    calls = images = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("vireid_embed_batch_images_count"):
            calls += float(line.split()[-1])
        elif line.startswith("vireid_embed_batch_images_sum"):
            images += float(line.split()[-1])
    return int(calls), images


def search_once(client: httpx2.Client, crop: tuple[bytes, str]) -> None:
    """One search with `crop`, made new: bytes after the JPEG's end change its hash, not its pixels, so the service's
    cache of query vectors (which spares a page's next request the embedding) never answers for the engine."""
    image, modality = crop
    fresh = image + os.urandom(8)
    answer = client.post("/api/v1/search", data={"modality": modality, "k": "10"}, files={"image": ("q.jpg", fresh)})
    answer.raise_for_status()


def run_level(
    url: str, pid: int, crops: list[tuple[bytes, str]], clients: int, total: int, limit: float, label: str
) -> Level:
    headers = {"Authorization": f"Bearer {READ}"}
    with httpx2.Client(base_url=url, headers=headers, timeout=60) as probe:
        calls0, images0 = engine_calls(probe)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + limit
    counter = iter(range(total))

    def worker(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        with httpx2.Client(base_url=url, headers=headers, timeout=60) as client:
            while time.monotonic() < deadline:
                with lock:
                    if next(counter, None) is None:
                        return
                began = time.perf_counter()
                try:
                    search_once(client, crops[rng.randrange(len(crops))])
                except httpx2.HTTPError:
                    with lock:
                        errors += 1
                    continue
                with lock:
                    latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    seconds = time.perf_counter() - began
    with httpx2.Client(base_url=url, headers=headers, timeout=60) as probe:
        calls1, images1 = engine_calls(probe)
    ms = np.asarray(latencies) * 1000
    calls = calls1 - calls0
    return Level(
        label,
        clients,
        len(latencies) + errors,
        errors,
        round(seconds, 2),
        round(len(latencies) / seconds, 2),
        round(float(np.percentile(ms, 50)), 1) if len(ms) else float("nan"),
        round(float(np.percentile(ms, 99)), 1) if len(ms) else float("nan"),
        calls,
        round((images1 - images0) / calls, 2) if calls else 0.0,
        round(rss_mib(pid), 1),
    )


class MixedRun:
    """Searches while one client uploads new crops (rotated copies: new content) and another removes them, for a
    fixed time; then what the gallery holds is checked against what was added and removed."""

    def __init__(self, url: str, crops: list[tuple[bytes, str]], seconds: float) -> None:
        self.url, self.crops, self.seconds = url, crops, seconds
        self.added: list[str] = []
        self.removed = self.victims = self.errors = self.searches = 0
        self.lock = threading.Lock()
        self.stop = 0.0

    def client(self, token: str) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def failed(self, answer: httpx2.Response) -> bool:
        if answer.is_success:
            return False
        with self.lock:
            self.errors += 1
        return True

    def searcher(self, seed: int) -> None:
        rng = random.Random(seed)
        with self.client(READ) as client:
            while time.monotonic() < self.stop:
                try:
                    search_once(client, self.crops[rng.randrange(len(self.crops))])
                except httpx2.HTTPError:
                    with self.lock:
                        self.errors += 1
                    continue
                with self.lock:
                    self.searches += 1

    def uploader(self) -> None:
        from io import BytesIO

        from PIL import Image

        with self.client(WRITE) as client:
            for turn in itertools.count(1):
                if time.monotonic() >= self.stop:
                    return
                image, modality = self.crops[turn % len(self.crops)]
                buffer = BytesIO()
                Image.open(BytesIO(image)).rotate(turn % 359 + 1, expand=True).save(buffer, "PNG")
                files = [("files", ("c.png", buffer.getvalue(), "image/png"))]
                answer = client.post("/api/v1/crops", data={"modality": modality, "camera": "load"}, files=files)
                if not self.failed(answer):
                    with self.lock:
                        self.added.extend(c["crop_id"] for c in answer.json()["crops"] if c["added"])

    def remover(self) -> None:
        """Removes the added crops one at a time, always leaving the two newest."""
        with self.client(WRITE) as client:
            while time.monotonic() < self.stop:
                with self.lock:
                    victim = self.added[self.victims] if len(self.added) > self.victims + 2 else None
                if victim is None:
                    time.sleep(0.05)
                    continue
                answer = client.request("DELETE", "/api/v1/crops", json={"ids": [victim]})
                if not self.failed(answer):
                    with self.lock:
                        self.victims += 1
                        self.removed += answer.json()["removed"]

    def run(self) -> dict[str, Any]:
        with self.client(READ) as client:
            before = client.get("/api/v1/info").json()["crops"]
        self.stop = time.monotonic() + self.seconds
        threads = [threading.Thread(target=self.searcher, args=(i,)) for i in range(4)]
        threads += [threading.Thread(target=self.uploader), threading.Thread(target=self.remover)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self.client(READ) as client:
            after = client.get("/api/v1/info").json()["crops"]
        return {
            "seconds": self.seconds,
            "searches": self.searches,
            "added": len(self.added),
            "removed": self.removed,
            "errors": self.errors,
            "crops_before": before,
            "crops_after": after,
            "holds_exactly": after == before + len(self.added) - self.removed,
        }


def table(levels: list[Level]) -> str:
    lines = [
        "| batching | clients | requests | errors | req/s | p50 ms | p99 ms | p99/p50 | engine calls | images/call "
        "| RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in levels:
        ratio = v.p99_ms / v.p50_ms if v.p50_ms else float("nan")
        lines.append(
            f"| {v.batching} | {v.clients} | {v.requests} | {v.errors} | {v.throughput:.1f} | {v.p50_ms:.1f} | "
            f"{v.p99_ms:.1f} | {ratio:.2f} | {v.engine_calls} | {v.mean_batch:.2f} | {v.rss_mib:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("demo", type=Path, help="A `vireid demo` output folder (artifacts/ and data/).")
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--requests", type=int, default=1500, help="Searches per level (all clients together).")
    parser.add_argument("--max-seconds", type=float, default=60, help="Per level, whatever is left unsent.")
    parser.add_argument("--mixed-seconds", type=float, default=60)
    parser.add_argument("--out", type=Path, default=None, help="Folder for serve-load.md and serve-load.json.")
    parser.add_argument("--max-wait-ms", type=float, default=None, help="The batching service's (default: its own).")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    results: list[Level] = []
    notes: dict[str, Any] = {"cpu": cpu_flags(), "command": " ".join(sys.argv)}
    with tempfile.TemporaryDirectory(prefix="serve-load-") as scratch:
        folder = Path(scratch)
        gallery, samples = build_gallery(args.demo, folder)
        crops = [(path.read_bytes(), modality) for path, modality in samples]
        for batching in (True, False):
            label = "on" if batching else "off"
            service = start(gallery, args.demo, folder, batching, args.max_wait_ms)
            try:
                run_level(service.url, service.process.pid, crops, 4, 40, args.max_seconds, "warm-up")
                notes[f"rss_after_warmup_mib_{label}"] = round(rss_mib(service.process.pid), 1)
                for clients in levels:
                    results.append(
                        run_level(
                            service.url, service.process.pid, crops, clients, args.requests, args.max_seconds, label
                        )
                    )
                    print(table(results[-1:]).splitlines()[-1], flush=True)
                notes[f"rss_after_run_mib_{label}"] = round(rss_mib(service.process.pid), 1)
                if batching and args.mixed_seconds > 0:
                    notes["mixed"] = MixedRun(service.url, crops, args.mixed_seconds).run()
                    print(json.dumps(notes["mixed"]), flush=True)
            finally:
                notes[f"exit_{label}"] = service.stop()
    report = render(results, notes, levels)
    print(report)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "serve-load.md").write_text(report)
        (args.out / "serve-load.json").write_text(
            json.dumps({"levels": [asdict(r) for r in results], **notes}, indent=2)
        )


def render(results: list[Level], notes: dict[str, Any], levels: list[int]) -> str:
    def throughput(label: str, clients: int) -> float:
        return next((r.throughput for r in results if r.batching == label and r.clients == clients), float("nan"))

    lines = [f"# vireid serve under load\n\n{notes['cpu']}\n\n`{notes['command']}`\n", table(results), ""]
    for label in ("on", "off"):
        if 16 in levels and 1 in levels:
            ratio = throughput(label, 16) / throughput(label, 1)
            lines.append(f"- batching {label}: 16 clients / 1 client throughput = {ratio:.2f}x")
        warm, end = notes.get(f"rss_after_warmup_mib_{label}"), notes.get(f"rss_after_run_mib_{label}")
        if warm and end:
            change = 100 * (end / warm - 1)
            rss = f"RSS {warm:.0f} MiB after warm-up, {end:.0f} MiB after the run ({change:+.1f} %)"
            lines.append(f"- batching {label}: {rss}")
    if "mixed" in notes:
        m = notes["mixed"]
        lines.append(
            f"- mixed {m['seconds']:.0f} s: {m['searches']} searches, {m['added']} crops added, "
            f"{m['removed']} removed, "
            f"{m['errors']} errors; the gallery went from {m['crops_before']} to {m['crops_after']} crops "
            f"({'exactly' if m['holds_exactly'] else 'NOT'} before + added - removed)"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
