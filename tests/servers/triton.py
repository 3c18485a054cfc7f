"""A real Triton server for the tests: `vireid-triton-host` in the runtime's own venv, on free loopback ports, with a
fresh workspace, watched by PID and stopped by process group (`vireid.deploy.triton_process.HostProcess`).

- `runtime_venv`: one fresh venv per test run with `./runtime[triton-host]` alone (no torch, no vireid; PyTriton
  pins numpy 1.26.4 there, which vireid's venv must not get). It is the slim deployment image plus PyTriton, so
  the distribution test checks it too, and the run pays for one venv. OpenVINO is left out: the hosts here serve
  `ort-cpu`, whose embeddings the parity tests compare with the in-process ones.
- `triton_host`: one host per test run (`--backend ort-cpu --precision fp32` on `demo_export`), shared by the
  xdist workers and started by the first that needs it; the run's main process stops it at the end. A start took
  about 6 s here; a host serving both demo branches holds about 500 MB.
- `own_triton_host`: a host of the test's own, for the tests that kill or stop it; `host_venv` for the tests that
  run the host's script themselves.
- `require_alive` fails a test in one line naming the host's log when the host died.
Without tritonclient in this venv, where the runtime's venv cannot be installed, or where PyTriton's tritonserver
cannot run (glibc), the tests call `unavailable` with how to get them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import shared_server, stop_shared_server, unavailable
from vireid.deploy.triton_process import HostProcess, clean_environment
from vireid.errors import VireidError

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("visible-fp32", "infrared-fp32")
"""What the hosts here serve: both branches at fp32, on ort-cpu."""
HOST_ARGS = ("--backend", "ort-cpu", "--precision", "fp32")


def build_runtime_venv(folder: Path) -> Path:
    """A fresh venv with `./runtime[triton-host]` installed (not editable: the distribution as it ships)."""
    env_dir = folder / "venv"
    venv.create(env_dir, with_pip=True)
    install = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", f"{ROOT / 'runtime'}[triton-host]"],
        capture_output=True,
        text=True,
        timeout=900,
        env=clean_environment(),
        cwd=folder,
    )
    if install.returncode:
        last = (install.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"pip install ./runtime[triton-host] failed: {last}")
    return env_dir


def start_host(env_dir: Path, art_dir: Path, folder: Path) -> HostProcess:
    try:
        return HostProcess.start(env_dir / "bin" / "vireid-triton-host", art_dir, folder, MODELS, HOST_ARGS)
    except VireidError as err:
        if "GLIBC_" in Path(folder / "host.log").read_text(errors="replace"):
            unavailable(f"PyTriton's tritonserver needs a newer glibc than this machine has ({err})")
        raise


def require_alive(host: HostProcess) -> None:
    if not host.alive():
        pytest.fail(f"the Triton host (PID {host.pid}) is dead; its log: {host.log}", pytrace=False)


def _prerequisites() -> None:
    if importlib.util.find_spec("tritonclient") is None or importlib.util.find_spec("geventhttpclient") is None:
        unavailable("the Triton tests need tritonclient[grpc,http] in this venv: pip install -e '.[dev]'")


@pytest.fixture(scope="session")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime's own venv (module docstring), built once per test run."""
    from tests.conftest import _built_once

    return _built_once(tmp_path_factory, "runtime-venv", build_runtime_venv)


def _host_venv(request: pytest.FixtureRequest) -> Path:
    """`runtime_venv` for a host; a venv that cannot be installed is `unavailable`, with pip's last line."""
    try:
        venv_dir: Path = request.getfixturevalue("runtime_venv")
    except RuntimeError as err:
        unavailable(f"the Triton host's venv could not be built ({err}); it needs PyPI or a pip cache")
    return venv_dir


@pytest.fixture(scope="session")
def host_venv(request: pytest.FixtureRequest) -> Path:
    """`runtime_venv`, or `unavailable` where it cannot be installed: for the tests that run the host's script."""
    return _host_venv(request)


@pytest.fixture(scope="session")
def triton_host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, demo_export: Path
) -> HostProcess:
    """The test run's shared host (see the module docstring)."""
    _prerequisites()
    env_dir = _host_venv(request)

    def start(folder: Path) -> Path:
        return start_host(env_dir, demo_export, folder).save(folder / "host.json")

    host = HostProcess.load(shared_server(request, tmp_path_factory, "triton-host", start, _stop))
    require_alive(host)
    return host


def _stop(record: Path) -> None:
    HostProcess.load(record).stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop_shared_server(session, "triton-host", _stop)


@pytest.fixture
def own_triton_host(request: pytest.FixtureRequest, tmp_path: Path, demo_export: Path) -> Iterator[HostProcess]:
    """A host of the test's own (its workspace under the test's tmp_path), stopped when the test ends."""
    _prerequisites()
    host = start_host(_host_venv(request), demo_export, tmp_path / "triton")
    yield host
    host.stop()
