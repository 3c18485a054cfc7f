"""`vireid-triton-host ART_DIR`: a Triton server wherever pip runs, serving the runtime's own embedders.

NGC's `tritonserver` loading the repository `vireid deploy triton` writes is the production path on GPUs; it needs
the NGC container. PyTriton (`nvidia-pytriton`) ships a real `tritonserver` with its Python backend in a wheel, so
this host runs on any Linux machine with pip, CPU only included (docs/architecture.md, "Deployment"):
- Each branch is bound as a Triton model of the same name, tensors, dims, `max_batch_size` and dynamic batching as
  the written repository's (`triton_models.py`), so one client (the `triton` backend) works against both. The
  model runs the embedder `load_embedder` gives: `auto` by default (OpenVINO or ONNX Runtime on a CPU, TensorRT on
  a GPU). A backend's own mode keeps its name: OpenVINO's bf16 is served as `visible-bf16`, never as fp32.
- Loopback by default (`--host 127.0.0.1`). Triton's statistics extension stays open, because the serving bench
  reads the server's own compute time there; the endpoints that change the server (model repository, shared
  memory, trace, logging) keep PyTriton's access token.
- PyTriton's Python-backend stub loads the interpreter's libpython. A pyenv interpreter keeps it outside the
  system's library path, and the stub then fails to load the models
  (`'_thread.RLock' object has no attribute '_recursion_count'`), so the host puts `LIBDIR` on the stub's
  `LD_LIBRARY_PATH`.
- It needs numpy < 2, which the training stack does not accept, so it lives in its own environment: the runtime's
  `triton-host` extra (`pip install "./runtime[openvino,triton-host]"`), the slim deployment image's packages plus
  PyTriton.
- The server's files (PyTriton's workspace) go to a folder the host creates and removes on exit, SIGTERM and
  SIGINT included; after a SIGKILL whoever started the host removes it (the test fixtures do).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import BackendUnavailable, RuntimeUserError
from vireid_runtime.manifest import MODALITIES, Manifest, read_manifest
from vireid_runtime.triton_models import ModelShape, model_name, model_shape, preferred_batch_sizes

PYTRITON_MISSING = (
    "PyTriton is not installed here (it needs numpy < 2, so it gets its own environment): python -m venv host && "
    'host/bin/pip install "./runtime[openvino,triton-host]" && host/bin/vireid-triton-host ART_DIR'
)
OPEN_ENDPOINTS = ("health", "metadata", "inference", "model-config", "statistics")
"""What a client may call without PyTriton's access token: asking, inferring and the statistics the bench reads."""
RESTRICTED_ENDPOINTS = ["shared-memory", "model-repository", "trace", "logging"]
SOCKET_PATH_MAX = 107
"""The longest Unix socket path Linux takes (sun_path holds 108 bytes with the terminating zero)."""


@dataclass(frozen=True)
class HostOptions:
    art_dir: Path
    backend: str = "auto"
    precisions: tuple[str, ...] = ("fp32",)
    host: str = "127.0.0.1"
    grpc_port: int = 8001
    http_port: int = 8000
    metrics_port: int = 8002
    max_queue_delay_us: int = 100
    """Dynamic batching's longest wait for a fuller batch (the repository's default too)."""
    threads: int | None = None
    workspace: Path | None = None
    """The server's files: a new folder, removed on exit (default: a new temporary folder)."""

    def __post_init__(self) -> None:
        ports = (self.grpc_port, self.http_port, self.metrics_port)
        if len(set(ports)) != 3 or not all(0 < port < 65536 for port in ports):
            raise ValueError(f"the gRPC, HTTP and metrics ports must be three distinct ports, got {ports}")
        if self.max_queue_delay_us < 0:
            raise ValueError("--max-queue-delay-us must be >= 0")
        if self.backend == "triton":
            raise ValueError("the host serves a backend that runs here (auto, ort-cpu, openvino, trt, ...), not triton")
        if self.workspace is not None and self.workspace.exists():
            raise ValueError(f"--workspace {self.workspace} exists; give a new folder (the host removes it on exit)")
        if self.workspace is not None:
            check_socket_paths(self.workspace, self.model_names)

    @property
    def model_names(self) -> list[str]:
        """The models the host will serve: every branch at every precision asked."""
        return [model_name(modality, precision) for precision in self.precisions for modality in MODALITIES]


@dataclass(frozen=True)
class Branch:
    """One served model: its name and the embedder behind it."""

    name: str
    embedder: Embedder

    def describe(self) -> str:
        return f"{self.name} ({self.embedder.backend} {self.embedder.precision}, {self.embedder.artifact.file})"


def load_branches(options: HostOptions, log: Callable[[str], None]) -> list[Branch]:
    """Every branch at every precision asked, each on the backend asked (auto: chosen per branch, the choice
    logged); a branch that cannot load stops the host rather than leaving a model out."""
    from vireid_runtime.load import load_embedder

    branches: list[Branch] = []
    try:
        for precision in options.precisions:
            for modality in MODALITIES:
                embedder = load_embedder(
                    options.art_dir, modality, options.backend, precision, threads=options.threads, log=log
                )
                branches.append(Branch(model_name(modality, embedder.precision), embedder))
    except BaseException:
        for branch in branches:
            branch.embedder.close()
        raise
    return branches


def stub_library_path(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """LD_LIBRARY_PATH with this interpreter's libpython folder first (module docstring)."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    paths = [p for p in environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p and p != libdir]
    return os.pathsep.join([libdir, *paths] if libdir else paths)


def check_socket_paths(workspace: Path, models: Sequence[str]) -> None:
    """PyTriton puts each model's Unix sockets in the workspace, and a socket path has at most 107 bytes: refuse a
    workspace too deep for them here, in one line, rather than as a failed model load later."""
    longest = max(len(os.fsencode(workspace.absolute() / "pytriton" / f"{m}_0_0-server.sock")) for m in models)
    if longest > SOCKET_PATH_MAX:
        room = SOCKET_PATH_MAX - (longest - len(os.fsencode(workspace.absolute())))
        raise RuntimeUserError(
            f"--workspace {workspace} is too deep for the server's sockets (a socket path has at most "
            f"{SOCKET_PATH_MAX} bytes): give a folder of at most {room} bytes, e.g. under /tmp"
        )


def _infer_function(embedder: Embedder, shape: ModelShape) -> Callable[..., Any]:
    from pytriton.decorators import batch

    @batch
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        return {shape.output_name: embedder.embed(inputs[shape.input_name])}

    return infer


def _bind(triton: Any, branch: Branch, manifest: Manifest, options: HostOptions) -> None:
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

    shape = model_shape(manifest)
    batcher = DynamicBatcher(
        max_queue_delay_microseconds=options.max_queue_delay_us,
        preferred_batch_size=preferred_batch_sizes(manifest.batch),
    )
    triton.bind(
        model_name=branch.name,
        infer_func=_infer_function(branch.embedder, shape),
        inputs=[Tensor(name=shape.input_name, dtype=np.float32, shape=shape.input_dims)],
        outputs=[Tensor(name=shape.output_name, dtype=np.float32, shape=shape.output_dims)],
        config=ModelConfig(max_batch_size=shape.max_batch_size, batcher=batcher),
        strict=True,
    )


def _server(options: HostOptions, workspace: Path) -> Any:
    from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig

    config = TritonConfig(
        http_address=options.host,
        http_port=options.http_port,
        grpc_address=options.host,
        grpc_port=options.grpc_port,
        metrics_address=options.host,
        metrics_port=options.metrics_port,
        exit_on_error=True,
        strict_readiness=True,
    )
    security = TritonSecurityConfig(restricted_endpoints=list(RESTRICTED_ENDPOINTS))
    return Triton(config=config, workspace=workspace / "pytriton", security_config=security)


def check_ports_free(options: HostOptions) -> None:
    """A taken port is one line now: tritonserver would exit on it, and PyTriton wait two minutes for it."""
    for flag, port in (
        ("--grpc-port", options.grpc_port),
        ("--http-port", options.http_port),
        ("--metrics-port", options.metrics_port),
    ):
        with socket.socket(socket.AF_INET6 if ":" in options.host else socket.AF_INET) as sock:
            try:
                sock.bind((options.host, port))
            except OSError as err:
                raise RuntimeUserError(
                    f"cannot listen on {options.host}:{port} ({err.strerror}); pass another {flag}"
                ) from None


def _stop_on_sigterm(_signal: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # PyTriton's serve loop stops the server on it, as on Ctrl-C


def serve(options: HostOptions, log: Callable[[str], None]) -> None:
    """Load the branches, start Triton, bind them, and serve until SIGINT or SIGTERM; the workspace goes on exit."""
    try:
        import pytriton  # noqa: F401
    except ImportError:
        raise BackendUnavailable(PYTRITON_MISSING) from None
    from pytriton.client.exceptions import PyTritonClientError
    from pytriton.exceptions import PyTritonError

    check_ports_free(options)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    os.environ["LD_LIBRARY_PATH"] = stub_library_path()  # tritonserver and its stubs inherit it
    branches = load_branches(options, log)
    workspace = options.workspace or Path(tempfile.mkdtemp(prefix="vireid-triton-host-"))
    try:
        check_socket_paths(workspace, options.model_names)
        workspace.mkdir(parents=True, exist_ok=True)
        manifest = read_manifest(options.art_dir)
        with _server(options, workspace) as triton:
            for branch in branches:
                _bind(triton, branch, manifest, options)
            where = f"grpc://{options.host}:{options.grpc_port} and http://{options.host}:{options.http_port}"
            log(f"serving {', '.join(b.describe() for b in branches)} at {where}; Ctrl-C or SIGTERM stops it")
            triton.serve()
    except KeyboardInterrupt:
        pass
    except (PyTritonError, PyTritonClientError) as err:  # tritonserver's own log, above, says why
        raise RuntimeUserError(f"Triton did not start or stopped: {str(err).splitlines()[0]}") from None
    finally:
        for branch in branches:
            branch.embedder.close()
        shutil.rmtree(workspace, ignore_errors=True)


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="vireid-triton-host",
        description="Serve an export's branches as Triton models (PyTriton), named, shaped and batched as the "
        "repository `vireid deploy triton` writes: the same client works against both.",
    )
    parse.add_argument("art_dir", type=Path, help="artifact folder written by `vireid export`")
    parse.add_argument("--backend", default="auto", help="runtime backend of every branch (default: auto)")
    parse.add_argument("--precision", default="fp32", help="comma-separated precisions to serve (default: fp32)")
    parse.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parse.add_argument("--grpc-port", type=int, default=8001)
    parse.add_argument("--http-port", type=int, default=8000)
    parse.add_argument("--metrics-port", type=int, default=8002)
    parse.add_argument("--max-queue-delay-us", type=int, default=100, help="dynamic batching's longest wait (µs)")
    parse.add_argument("--threads", type=int, default=None, help="inference threads per model (default: all)")
    parse.add_argument("--workspace", type=Path, default=None, help="a new folder for the server's files")
    return parse


def options_from(args: argparse.Namespace) -> HostOptions:
    precisions = tuple(p.strip() for p in args.precision.split(",") if p.strip())
    return HostOptions(
        art_dir=args.art_dir,
        backend=args.backend,
        precisions=precisions or ("fp32",),
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        metrics_port=args.metrics_port,
        max_queue_delay_us=args.max_queue_delay_us,
        threads=args.threads,
        workspace=args.workspace,
    )


def _stderr(line: str) -> None:
    print(f"vireid-triton-host: {line}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: one line and exit 1 for anything the user can fix, 0 after a clean stop."""
    args = parser().parse_args(argv)
    try:
        options = options_from(args)
        serve(options, _stderr)
    except (RuntimeUserError, ValueError) as err:
        _stderr(f"error: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
