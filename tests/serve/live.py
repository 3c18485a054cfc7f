"""`vireid serve` as a real process: uvicorn on 127.0.0.1 at a free port, stopped by its PID.

For the tests that need what only a real server shows: a browser, concurrent clients over real connections,
SIGTERM. The service runs `python -m vireid serve` in a process group of its own; `stop` sends SIGTERM and
waits (the graceful path), and anything still alive after that is SIGKILLed with its group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.serve.helpers import READ_TOKEN, WRITE_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveService:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (finish in-flight requests, then stop); SIGKILL the group if it outlives `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def _token_file(folder: Path, name: str, token: str) -> Path:
    path = folder / name
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


TEST_ENGINE = ("--backend", "ort-cpu", "--precision", "fp32")
"""The tests' engine: the one the answers they compare against are computed with."""


def start_service(
    gallery: str, art_dir: Path, folder: Path, *options: str, engine: tuple[str, ...] = TEST_ENGINE
) -> LiveService:
    """`vireid serve` on a free loopback port with both tokens, on `engine`'s options, ready to answer."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    command = [sys.executable, "-m", "vireid", "serve", gallery, str(art_dir), "--port", str(port)]
    command += ["--token-file", str(_token_file(folder, "read.token", READ_TOKEN))]
    command += ["--write-token-file", str(_token_file(folder, "write.token", WRITE_TOKEN))]
    command += ["--audit-log", str(folder / "audit.jsonl"), "--uploads", str(folder / "uploads")]
    command += [*engine, *options]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "runtime")}  # this checkout's runtime, as pytest sees it
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    service = LiveService(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_ready(service)
    except BaseException:
        service.stop()
        raise
    return service


@contextmanager
def live_service(gallery: str, art_dir: Path, folder: Path, *options: str) -> Iterator[LiveService]:
    service = start_service(gallery, art_dir, folder, *options)
    try:
        yield service
    finally:
        service.stop()


def _wait_ready(service: LiveService, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"vireid serve exited with {service.process.returncode}: {service.log.read_text()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"{service.url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"vireid serve did not answer /healthz within {timeout} s: {service.log.read_text()[-2000:]}")
