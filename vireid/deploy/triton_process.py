"""A `vireid-triton-host` process started from another environment, and stopped so that nothing of it is left.

The host needs PyTriton, and PyTriton needs numpy < 2, so it runs from its own venv (`runtime[triton-host]`),
never in vireid's; the tests and `benchmarks/triton_serving.py` start it as a child process through this module
(docs/architecture.md, "Deployment"). What a start and a stop must take care of, as measured with PyTriton 0.7.0:
- The host leads a process group of its own (tritonserver, the Python backend's stubs and their helpers are in
  it), so a stop reaches all of them by the group's ID, whoever started them.
- SIGTERM lets the host stop tritonserver and remove its workspace; anything still running after the grace is
  SIGKILLed.
- A killed server leaves the Python backend's `/tmp/folder*` and `/tmp/python_env_*` folders (their names are
  fixed by the backend; TMPDIR does not move them), its `/dev/shm/pytrtion<host PID>-*` regions and PyTriton's
  `/dev/shm/psm_*` data segments. The /tmp folders are found by comparing /tmp before and after the start, under
  a machine-wide lock so that two starts never claim each other's; the segments are those the group's processes
  had mapped when they were killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from vireid.errors import VireidError

START_TIMEOUT_S = 180
"""A start took about 6 s on 2 cores; busy cores make it slower."""
STOP_GRACE_S = 40
"""tritonserver waits up to 30 s for in-flight requests after SIGINT; then the group is killed."""
LEFTOVERS = ("folder*", "python_env_*")
"""What the Python backend creates under /tmp and removes only when it stops cleanly."""
START_LOCK = "vireid-triton-start.lock"


def clean_environment() -> dict[str, str]:
    """This environment without what would make the host's venv import this venv's packages."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def free_ports(count: int) -> list[int]:
    """Loopback ports nothing listens on now (the kernel's choice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tmp_leftovers() -> set[str]:
    tmp = Path("/tmp")
    return {str(path) for pattern in LEFTOVERS for path in tmp.glob(pattern)}


def mapped_shared_memory(pids: list[int]) -> set[Path]:
    """The /dev/shm files these processes have mapped (PyTriton creates its data segments as they are needed)."""
    found = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        found |= {Path(line.split()[-1]) for line in maps.splitlines() if " /dev/shm/" in line}
    return found


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


@dataclass(frozen=True)
class HostProcess:
    pid: int
    """The host's PID, which leads its process group."""
    grpc_port: int
    http_port: int
    metrics_port: int
    workspace: str
    """A folder of this process's own; the host's workspace is inside it, and a stop removes it all."""
    log: str
    leftovers: tuple[str, ...] = ()

    @property
    def grpc_url(self) -> str:
        return f"grpc://127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @classmethod
    def start(
        cls, script: Path, art_dir: Path, folder: Path, models: Sequence[str], args: Sequence[str]
    ) -> HostProcess:
        """Run `script ART_DIR ARGS` (the host's console script) on free loopback ports with a fresh workspace in
        `folder`, and wait until every one of `models` is ready; VireidError naming the log if it is not."""
        folder.mkdir(parents=True, exist_ok=True)
        grpc, http, metrics = free_ports(3)
        # The server's Unix sockets live in the workspace, and a socket path has at most 107 bytes: a short folder
        # of /tmp, not one beside the log, which may be deep in a test's tmp_path.
        log, workspace = folder / "host.log", Path(tempfile.mkdtemp(prefix="vireid-triton-"))
        command = [str(script), str(art_dir), *args, "--workspace", str(workspace / "server")]
        command += ["--grpc-port", str(grpc), "--http-port", str(http), "--metrics-port", str(metrics)]
        with open(Path(tempfile.gettempdir()) / START_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the /tmp folders that appear meanwhile are this server's
            before = _tmp_leftovers()
            with open(log, "ab") as out:
                process = subprocess.Popen(
                    command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=clean_environment()
                )
            host = cls(process.pid, grpc, http, metrics, str(workspace), str(log))
            ready = False
            try:
                host._wait_ready(process.poll, models)
                ready = True
            finally:
                host = replace(host, leftovers=tuple(sorted(_tmp_leftovers() - before)))
                if not ready:
                    host.stop()
        return host

    def _wait_ready(self, exited: Callable[[], int | None], models: Sequence[str]) -> None:
        import tritonclient.grpc as grpcclient

        client = grpcclient.InferenceServerClient(f"127.0.0.1:{self.grpc_port}")
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                status = exited()
                if status is not None:
                    raise VireidError(
                        f"vireid-triton-host exited with status {status} at start ({self.last_line()}); see {self.log}"
                    )
                with contextlib.suppress(Exception):  # not listening yet
                    if all(client.is_model_ready(name, client_timeout=2) for name in models):
                        return
                time.sleep(0.2)
        finally:
            client.close()
        raise VireidError(
            f"vireid-triton-host did not serve {', '.join(models)} within {START_TIMEOUT_S} s; see {self.log}"
        )

    def last_line(self) -> str:
        """The last line the host wrote (its one-line error, when it refused to start)."""
        text = Path(self.log).read_text(errors="replace") if Path(self.log).is_file() else ""
        lines = [line.strip() for line in text.splitlines() if len(line.strip()) > 1]
        return lines[-1] if lines else "no output"

    def alive(self) -> bool:
        return self.pid in group_members(self.pid)

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.pid, signum)

    def wait_gone(self, timeout_s: float) -> bool:
        """Until nothing of the group runs (True), or `timeout_s` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while group_members(self.pid):
            if time.monotonic() > deadline:
                return False
            with contextlib.suppress(ChildProcessError):  # reap the host where this process started it
                os.waitpid(self.pid, os.WNOHANG)
            time.sleep(0.1)
        return True

    def kill(self) -> None:
        """SIGKILL the whole group, as a crash would, wait until nothing of it runs, and remove the shared memory
        it had mapped (nothing is left to unlink it)."""
        segments = mapped_shared_memory(group_members(self.pid))
        self.signal_group(signal.SIGKILL)
        self.wait_gone(30)
        for segment in segments:
            segment.unlink(missing_ok=True)

    def stop(self) -> None:
        """SIGTERM the host (it stops tritonserver and removes its workspace), then kill and remove what is left."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        if not self.wait_gone(STOP_GRACE_S):
            self.kill()
        self.remove_leftovers()

    def remove_leftovers(self) -> None:
        shutil.rmtree(self.workspace, ignore_errors=True)
        for path in self.leftovers:
            shutil.rmtree(path, ignore_errors=True)
        for region in Path("/dev/shm").glob(f"pytrtion{self.pid}-*"):
            region.unlink(missing_ok=True)

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def load(cls, path: Path) -> HostProcess:
        fields = json.loads(path.read_text())
        return cls(**{**fields, "leftovers": tuple(fields["leftovers"])})
