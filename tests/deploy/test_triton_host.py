"""`vireid-triton-host` (`vireid deploy triton-host`): the export's branches served through PyTriton, named, shaped
and batched as the repository `vireid deploy triton` writes, so one client works against both; and a host that
stops leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import tritonclient.grpc as grpcclient
import tritonclient.grpc.model_config_pb2 as pb
from typer.testing import CliRunner

from vireid.cli.app import app
from vireid.deploy.triton import TritonOptions, repository_models
from vireid.deploy.triton_process import HostProcess, clean_environment, group_members
from vireid_runtime import read_manifest
from vireid_runtime.triton_host import PYTRITON_MISSING, main, stub_library_path


def test_the_host_serves_the_repository_names_tensors_dims_and_batching(
    triton_host: HostProcess, demo_export: Path
) -> None:
    models, _ = repository_models(read_manifest(demo_export), TritonOptions(kind="cpu"))
    written = {model.name: model.config for model in models if model.name in ("visible-fp32", "infrared-fp32")}
    assert len(written) == 2
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{triton_host.grpc_port}")
    try:
        for name, expected in written.items():
            served = client.get_model_config(name, client_timeout=30).config
            assert served.name == name and served.max_batch_size == expected.max_batch_size
            for got, want in ((served.input, expected.input), (served.output, expected.output)):
                assert [(t.name, t.data_type, list(t.dims)) for t in got] == [
                    (t.name, t.data_type, list(t.dims)) for t in want
                ]
                assert got[0].data_type == pb.TYPE_FP32
            wanted = expected.dynamic_batching.preferred_batch_size
            assert list(served.dynamic_batching.preferred_batch_size) == list(wanted)
    finally:
        client.close()


@pytest.mark.slow
def test_sigterm_stops_the_host_and_leaves_nothing_behind(own_triton_host: HostProcess) -> None:
    host = own_triton_host
    assert len(group_members(host.pid)) >= 3  # the host, tritonserver and a backend stub per model
    server = Path(host.workspace) / "server"  # the host's --workspace
    assert server.is_dir() and host.leftovers  # the Python backend's /tmp folders
    os.kill(host.pid, signal.SIGTERM)
    assert host.wait_gone(60), "the host did not stop on SIGTERM"
    assert not server.exists()
    assert not [path for path in host.leftovers if Path(path).exists()]
    assert not list(Path("/dev/shm").glob(f"pytrtion{host.pid}-*"))
    assert "serving visible-fp32 (ort-cpu fp32, visible.onnx), infrared-fp32" in Path(host.log).read_text()


def test_without_pytriton_the_host_says_how_to_get_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pytriton", None)  # not importable, as in vireid's own venv
    result = CliRunner().invoke(app, ["deploy", "triton-host", str(tmp_path), "--backend", "ort-cpu"])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"error: {PYTRITON_MISSING}"
    assert 'pip install "./runtime[openvino,triton-host]"' in PYTRITON_MISSING


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--grpc-port", "8000"], "three distinct ports"),
        (["--backend", "triton"], "serves a backend that runs here"),
        (["--max-queue-delay-us", "-1"], "--max-queue-delay-us must be >= 0"),
        (["--workspace", "/tmp/" + "deep/" * 16], "too deep for the server's sockets"),
    ],
)
def test_bad_host_options_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    assert main([str(tmp_path), *args]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert problem in line and line.startswith("vireid-triton-host: error: ")
    result = CliRunner().invoke(app, ["deploy", "triton-host", str(tmp_path), *args])
    assert result.exit_code == 1 and problem in result.output and len(result.output.strip().splitlines()) == 1


def test_a_taken_port_is_one_line_at_once(host_venv: Path, tmp_path: Path) -> None:
    """tritonserver would exit on it while PyTriton waited two minutes for it to answer."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(host_venv / "bin" / "vireid-triton-host"), str(tmp_path), "--grpc-port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_environment(),
        )
    assert result.returncode == 1, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert f"cannot listen on 127.0.0.1:{port}" in line and "pass another --grpc-port" in line


def test_the_backend_stub_finds_this_interpreters_libpython() -> None:
    import sysconfig

    libdir = sysconfig.get_config_var("LIBDIR")
    path = stub_library_path({"LD_LIBRARY_PATH": f"/opt/a:{libdir}:/opt/b"})
    assert path.split(":") == [libdir, "/opt/a", "/opt/b"]
    assert stub_library_path({}) == libdir
