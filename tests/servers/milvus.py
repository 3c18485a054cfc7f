"""A real Milvus server for the gallery tests: a network namespace of its own, a fresh data directory, watched by PID.

Milvus 2.3.5 (the `milvus` wheel, the newest for Linux) listens on every interface whatever its config says, so it
runs inside a network namespace of its own (`ip netns add`), joined to this machine by a veth pair on a private
/30: the server is 10.213.N.2 in there, this machine 10.213.N.1, and the tests are ordinary pymilvus clients of
`milvus://10.213.N.2:19530/COLLECTION`. Nothing of it listens in the root namespace (`ss -ltn` there shows none of
its ports; inside, the proxy 19530, /healthz 9091 and the coordinators listen on `*`, etcd on the namespace's own
127.0.0.1), and no other machine can reach the veth's private addresses.

- `MilvusProcess`: one server. `start` runs the launcher (`milvus_launch.py`) in a process group of its own and
  waits until /healthz answers; `require_alive` fails the test in one line naming the server's log when the server
  died (the `milvus-server` wrapper would not notice); `kill` SIGKILLs the group, as a crash would; `restart`
  starts it again on the same data directory; `stop` kills the group and deletes the namespace, which takes the
  veth pair with it. Namespaces that a killed test run left behind are found by their owner's PID and removed.
- `milvus_server`: one server per test run, shared by the xdist workers and started by the first that needs it.
  Measured on this 2-core machine: a fresh start takes about 8 s and much of both cores (it unpacks its binaries
  and starts etcd and nine components), while an idle server uses about 3 % of one core and 330 MB resident. A
  server per worker would pay the start once per worker for nothing, so they share one; each test takes a fresh
  collection (`milvus_location`), dropped when it ends. The test run's main process stops it at the end.
- `own_milvus_server`: a server of the test's own, for the tests that kill it.
Without root (for the namespace), iproute2's `ip` or the `milvus` package, the tests call `unavailable` with how to
get them.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from tests.servers import shared_server, stop_shared_server, unavailable

LAUNCHER = Path(__file__).with_name("milvus_launch.py")
PREFIX = "vireid-milvus-"
"""Namespace names: PREFIX + the owning test run's PID + a number."""
START_TIMEOUT_S = 180
"""A fresh start took about 8 s here, a restart after SIGKILL about 10 s; a loaded 2-core machine is slower."""
_CAP_NET_ADMIN, _CAP_SYS_ADMIN = 12, 21


@dataclass(frozen=True)
class Namespace:
    name: str
    host_link: str
    host_ip: str
    server_ip: str

    @classmethod
    def create(cls) -> Namespace:
        """A namespace with `lo` up and a veth pair on the first free 10.213.x.y/30 (chosen under a machine-wide
        lock, so two test runs never take the same one)."""
        _remove_stale()
        with open(Path(tempfile.gettempdir()) / "vireid-netns.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            used = set(re.findall(r"inet (10\.213\.\d+\.\d+)/", _ip("-o", "-4", "addr", "show")))
            block = next(b for b in range(16_384) if _addresses(b)[0] not in used)
            host_ip, server_ip = _addresses(block)
            namespace = cls(f"{PREFIX}{_run_pid()}-{block}", f"vmil{block}h", host_ip, server_ip)
            peer = f"vmil{block}s"
            _ip("netns", "add", namespace.name)
            try:
                _ip("link", "add", namespace.host_link, "type", "veth", "peer", "name", peer)
                _ip("link", "set", peer, "netns", namespace.name)
                _ip("addr", "add", f"{namespace.host_ip}/30", "dev", namespace.host_link)
                _ip("link", "set", namespace.host_link, "up")
                _ip("-n", namespace.name, "addr", "add", f"{namespace.server_ip}/30", "dev", peer)
                _ip("-n", namespace.name, "link", "set", peer, "up")
                _ip("-n", namespace.name, "link", "set", "lo", "up")
            except RuntimeError:
                namespace.delete()
                raise
        return namespace

    def pids(self) -> list[int]:
        return [int(p) for p in _ip("netns", "pids", self.name, check=False).split()]

    def delete(self) -> None:
        """Delete the namespace (the veth pair goes with it; a link left in the root namespace is removed too)."""
        _ip("netns", "del", self.name, check=False)
        _ip("link", "del", self.host_link, check=False)


@dataclass(frozen=True)
class MilvusProcess:
    namespace: Namespace
    data_dir: str
    port: int = 19530

    @classmethod
    def start_new(cls, data_dir: Path) -> MilvusProcess:
        data_dir.mkdir(parents=True, exist_ok=True)
        server = cls(Namespace.create(), str(data_dir))
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def log(self) -> Path:
        return Path(self.data_dir) / "launcher.log"

    @property
    def pid(self) -> int:
        """The launcher's PID, which leads the server's process group (0 before the first start)."""
        path = Path(self.data_dir) / "launcher.pid"
        return int(path.read_text()) if path.is_file() else 0

    def location(self, collection: str) -> str:
        return f"milvus://{self.namespace.server_ip}:{self.port}/{collection}"

    def start(self) -> None:
        """Start the launcher in the namespace and wait until /healthz answers, the proxy took `port` and a client's
        call succeeds."""
        ports = Path(self.data_dir) / "ports.json"
        ports.unlink(missing_ok=True)
        # -I: isolated, so the launcher's own folder (where this module, `milvus.py`, lives) does not shadow the
        # `milvus` package
        command = ["ip", "netns", "exec", self.namespace.name, sys.executable, "-I", str(LAUNCHER), self.data_dir]
        with open(self.log, "ab") as log:
            process = subprocess.Popen(
                [*command, str(_run_pid())], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        (Path(self.data_dir) / "launcher.pid").write_text(str(process.pid))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the Milvus server exited with status {process.returncode} at start; see {self.log}"
                )
            if ports.is_file() and self._healthy(json.loads(ports.read_text())["healthz_port"]):
                taken = json.loads(ports.read_text())["port"]
                if taken != self.port:
                    raise RuntimeError(f"the Milvus server took port {taken}, not {self.port}; see {self.log}")
                if self._answers():
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the Milvus server did not answer /healthz within {START_TIMEOUT_S} s; see {self.log}")

    def _healthy(self, port: int) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the veth is never behind a proxy
        try:
            with opener.open(f"http://{self.namespace.server_ip}:{port}/healthz", timeout=2) as answer:
                return b"OK" in answer.read()
        except OSError:
            return False

    def _answers(self) -> bool:
        """A client's call succeeds: /healthz says OK a moment before the proxy serves every request (the wrapper
        itself waits a second more), and a test's first call must not meet a server still starting."""
        from pymilvus import MilvusClient

        try:
            client = MilvusClient(f"http://{self.namespace.server_ip}:{self.port}", timeout=5)
            try:
                client.list_collections()
            finally:
                client.close()
        except Exception:
            return False
        return True

    def alive(self) -> bool:
        return self.pid > 0 and _running(self.pid)

    def require_alive(self) -> None:
        if not self.alive():
            pytest.fail(f"the Milvus server (launcher PID {self.pid}) is dead; its log: {self.log}", pytrace=False)

    def kill(self) -> None:
        """SIGKILL the server's process group, as a crash would, and wait until nothing runs in the namespace."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
                os.killpg(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while self.namespace.pids() and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        """Kill the server, delete the namespace and the unpacked binaries (the logs stay, with the test's tmp_path)."""
        self.kill()
        for pid in self.namespace.pids():  # anything else that ended up in the namespace
            os.kill(pid, signal.SIGKILL)
        self.namespace.delete()
        shutil.rmtree(Path(self.data_dir) / "bin", ignore_errors=True)

    @contextlib.contextmanager
    def collection(self) -> Iterator[str]:
        """The location of a fresh collection, checked alive before and after its use and then dropped."""
        self.require_alive()
        name = f"t{uuid.uuid4().hex[:16]}"
        yield self.location(name)
        self.require_alive()
        self.drop(name)

    def drop(self, prefix: str) -> None:
        """Drop every collection whose name starts with `prefix` (a test's gallery and its side collection)."""
        from pymilvus import MilvusClient

        client = MilvusClient(f"http://{self.namespace.server_ip}:{self.port}")
        try:
            for name in client.list_collections():
                if name.startswith(prefix):
                    client.drop_collection(name)
        finally:
            client.close()

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> MilvusProcess:
        fields = json.loads(path.read_text())
        return cls(Namespace(**fields["namespace"]), fields["data_dir"], fields["port"])


def _addresses(block: int) -> tuple[str, str]:
    """This machine's and the server's address in the `block`-th /30 of 10.213.0.0/16."""
    stem, first = f"10.213.{block // 64}", 4 * (block % 64)
    return f"{stem}.{first + 1}", f"{stem}.{first + 2}"


def _ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead launcher stays a zombie until the worker that started it reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _run_pid() -> int:
    """The test run's main process: the xdist controller for a worker (its parent), else this process."""
    return os.getppid() if "PYTEST_XDIST_WORKER" in os.environ else os.getpid()


def _remove_stale() -> None:
    """Namespaces (and their servers) left by test runs that were killed before they could stop them."""
    for name in re.findall(rf"^({re.escape(PREFIX)}(\d+)-\d+)", _ip("netns", "list", check=False), re.MULTILINE):
        namespace, owner = name[0], int(name[1])
        if not _running(owner):
            for pid in _ip("netns", "pids", namespace, check=False).split():
                os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "del", namespace, check=False)


def _prerequisites() -> None:
    if importlib.util.find_spec("milvus") is None:
        unavailable("the Milvus server tests need the `milvus` 2.3.5 wheel: pip install -e '.[dev]'")
    if shutil.which("ip") is None:
        unavailable(
            "the Milvus server tests need iproute2's `ip` for a private network namespace: apt-get install iproute2"
        )
    effective = int(re.search(r"CapEff:\s*([0-9a-f]+)", Path("/proc/self/status").read_text())[1], 16)  # type: ignore[index]
    if not (effective >> _CAP_NET_ADMIN & 1 and effective >> _CAP_SYS_ADMIN & 1):
        unavailable("the Milvus server tests need root (CAP_NET_ADMIN and CAP_SYS_ADMIN) for a network namespace")


@pytest.fixture(scope="session")
def milvus_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> MilvusProcess:
    """The test run's shared server (see the module docstring)."""
    _prerequisites()

    def start(folder: Path) -> Path:
        server = MilvusProcess.start_new(folder / "data")
        server.save(folder / "server.json")
        return folder / "server.json"

    server = MilvusProcess.load(shared_server(request, tmp_path_factory, "milvus", start, _stop))
    server.require_alive()
    return server


def _stop(record: Path) -> None:
    MilvusProcess.load(record).stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop_shared_server(session, "milvus", _stop)


@pytest.fixture
def milvus_location(milvus_server: MilvusProcess) -> Iterator[str]:
    """`milvus://10.213.N.2:19530/<fresh collection>` on the shared server, dropped when the test ends."""
    with milvus_server.collection() as location:
        yield location


@pytest.fixture
def own_milvus_server(tmp_path: Path) -> Iterator[MilvusProcess]:
    """A server of the test's own (its data under the test's tmp_path), stopped when the test ends."""
    _prerequisites()
    server = MilvusProcess.start_new(tmp_path / "milvus")
    yield server
    server.stop()
