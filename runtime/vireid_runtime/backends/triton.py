"""Triton backend (`triton`): an embedder whose inference runs on a Triton server, through `tritonclient`.

It is the client of both servers vireid deploys to (docs/architecture.md, "Deployment"): NGC's `tritonserver`
loading the repository `vireid deploy triton` writes, and `vireid-triton-host`, which serves the runtime's own
embedders through PyTriton. Both name the model `{branch}-{precision}` (`triton_models.py`).

Why it is written this way (docs/architecture.md, "Runtime and bench"):
- A remote backend: it reads no graph, so `auto` never picks it and the manifest never lists it among the
  backends that run a file (the registry's `remote` flag). The manifest is still the contract: at load the served
  model's metadata and config (input name, dims, dtype, output dimension, max_batch_size) must match it, or the
  load is refused in one line; embeddings from a model of another export would be silently wrong.
- gRPC unless the URL says `http://`: one persistent HTTP/2 channel, and the protocol `tritonserver` serves on
  8001.
- Every call has a deadline (gRPC `client_timeout`, HTTP connection and network timeouts): a dead server or a hung
  one is one line (`BackendUnavailable` naming the URL and the model), never a hang, and never a fallback.
- tritonclient's clients are not thread-safe; each thread gets its own, so one embedder can be shared by the
  serving bench's concurrent clients.
- Which int8 graph the server runs is its own choice (u8s8 on CPU instances, symmetric s8 on GPU ones); both are
  held to the int8 bar, so the client takes either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import numpy as np

from vireid_runtime.embedder import Embedder
from vireid_runtime.errors import ArtifactError, BackendUnavailable
from vireid_runtime.manifest import Artifact, Manifest
from vireid_runtime.triton_models import DATATYPE, ModelShape, model_name, model_shape

TRITONCLIENT_MISSING = "tritonclient is not installed: pip install 'tritonclient[grpc,http]'"
DEFAULT_DEADLINE_S = 60.0
"""Longest wait for one call: a batch of 64 ResNet-50 images on two busy CPU cores answers well within it."""
SCHEMES = {"grpc": "grpc", "http": "http", "": "grpc"}
T = TypeVar("T")
HOST_HINT = "start one with `vireid-triton-host ART_DIR` or NGC's tritonserver on `vireid deploy triton`'s repository"


@dataclass(frozen=True)
class Endpoint:
    """Where a remote backend sends its requests, and how long it waits for each answer."""

    url: str
    deadline_s: float = DEFAULT_DEADLINE_S

    @property
    def protocol(self) -> str:
        """grpc or http, from the URL's scheme (none: grpc); ValueError for any other scheme."""
        scheme = urlsplit(self.url if "://" in self.url else f"//{self.url}").scheme
        if scheme not in SCHEMES:
            raise ValueError(f"triton URL {self.url!r}: the scheme must be grpc:// or http://")
        return SCHEMES[scheme]

    @property
    def address(self) -> str:
        """host:port, as tritonclient takes it."""
        parts = urlsplit(self.url if "://" in self.url else f"//{self.url}")
        if not parts.hostname or not parts.port or parts.path.strip("/"):
            raise ValueError(f"triton URL {self.url!r} must be grpc://HOST:PORT or http://HOST:PORT")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{host}:{parts.port}"

    def __post_init__(self) -> None:
        _ = self.protocol, self.address  # a malformed URL is refused when given, not at the first request
        if self.deadline_s <= 0:
            raise ValueError(f"the deadline must be positive seconds, got {self.deadline_s}")


@dataclass(frozen=True)
class ServerStatistics:
    """One model's cumulative counters from Triton's statistics extension (`/v2/models/{model}/stats`).

    A measurement is the difference of two readings (`since`)."""

    requests: int
    """Successful inference requests."""
    executions: int
    """Model executions: fewer than requests when dynamic batching merged them."""
    images: int
    queue_ns: int
    """Time requests waited in the scheduler's queue, summed over requests."""
    compute_ns: int
    """Input copy, inference and output copy, summed over requests."""

    def since(self, before: ServerStatistics) -> ServerStatistics:
        return ServerStatistics(
            self.requests - before.requests,
            self.executions - before.executions,
            self.images - before.images,
            self.queue_ns - before.queue_ns,
            self.compute_ns - before.compute_ns,
        )


def _count(stats: dict[str, Any], key: str, field: str) -> int:
    """A duration or count of the statistics (protobuf JSON writes int64 as strings and leaves zeros out)."""
    return int((stats.get(key) or {}).get(field, 0))


def statistics_from(values: dict[str, Any]) -> ServerStatistics:
    """The first model's counters from a statistics answer (gRPC's JSON and HTTP's have the same fields)."""
    (model, *_) = values.get("model_stats") or [{}]
    stats = model.get("inference_stats") or {}
    compute = sum(_count(stats, key, "ns") for key in ("compute_input", "compute_infer", "compute_output"))
    return ServerStatistics(
        requests=_count(stats, "success", "count"),
        executions=int(model.get("execution_count", 0)),
        images=int(model.get("inference_count", 0)),
        queue_ns=_count(stats, "queue", "ns"),
        compute_ns=compute,
    )


class _Grpc:
    """tritonclient's gRPC client with the deadline on every call."""

    def __init__(self, endpoint: Endpoint) -> None:
        import tritonclient.grpc as grpcclient

        self.module = grpcclient
        self.deadline = endpoint.deadline_s
        self.client = grpcclient.InferenceServerClient(endpoint.address)

    def ready(self, model: str) -> bool:
        return bool(self.client.is_model_ready(model, client_timeout=self.deadline))

    def metadata(self, model: str) -> dict[str, Any]:
        return dict(self.client.get_model_metadata(model, as_json=True, client_timeout=self.deadline))

    def config(self, model: str) -> dict[str, Any]:
        return dict(self.client.get_model_config(model, as_json=True, client_timeout=self.deadline)["config"])

    def statistics(self, model: str) -> dict[str, Any]:
        return dict(self.client.get_inference_statistics(model, as_json=True, client_timeout=self.deadline))

    def models(self) -> list[str]:
        index = self.client.get_model_repository_index(as_json=True, client_timeout=self.deadline)
        return [entry["name"] for entry in index.get("models", [])]

    def infer(self, model: str, shape: ModelShape, batch: np.ndarray) -> np.ndarray:
        tensor = self.module.InferInput(shape.input_name, list(batch.shape), DATATYPE)
        tensor.set_data_from_numpy(batch)
        wanted = [self.module.InferRequestedOutput(shape.output_name)]
        result = self.client.infer(model, [tensor], outputs=wanted, client_timeout=self.deadline)
        return np.asarray(result.as_numpy(shape.output_name))

    def close(self) -> None:
        self.client.close()


class _Http(_Grpc):
    """tritonclient's HTTP client: the deadline is its connection and network timeout."""

    def __init__(self, endpoint: Endpoint) -> None:
        try:
            import tritonclient.http as httpclient
        except ImportError:
            raise BackendUnavailable(f"triton {endpoint.url}: {TRITONCLIENT_MISSING}") from None
        self.module = httpclient
        self.deadline = endpoint.deadline_s
        self.client = httpclient.InferenceServerClient(
            endpoint.address, connection_timeout=endpoint.deadline_s, network_timeout=endpoint.deadline_s
        )

    def ready(self, model: str) -> bool:
        return bool(self.client.is_model_ready(model))

    def metadata(self, model: str) -> dict[str, Any]:
        return dict(self.client.get_model_metadata(model))

    def config(self, model: str) -> dict[str, Any]:
        return dict(self.client.get_model_config(model))

    def statistics(self, model: str) -> dict[str, Any]:
        return dict(self.client.get_inference_statistics(model))

    def models(self) -> list[str]:
        return [entry["name"] for entry in self.client.get_model_repository_index()]

    def infer(self, model: str, shape: ModelShape, batch: np.ndarray) -> np.ndarray:
        tensor = self.module.InferInput(shape.input_name, list(batch.shape), DATATYPE)
        tensor.set_data_from_numpy(batch, binary_data=True)
        wanted = [self.module.InferRequestedOutput(shape.output_name, binary_data=True)]
        result = self.client.infer(model, [tensor], outputs=wanted)
        return np.asarray(result.as_numpy(shape.output_name))


def served_shape(metadata: dict[str, Any], config: dict[str, Any]) -> ModelShape | str:
    """The model as the server describes it, or why it cannot be one of vireid's branches."""
    inputs, outputs = metadata.get("inputs") or [], metadata.get("outputs") or []
    if len(inputs) != 1 or len(outputs) != 1:
        return f"{len(inputs)} inputs and {len(outputs)} outputs (a branch has one of each)"
    (tensor_in,), (tensor_out,) = inputs, outputs
    types = {tensor_in.get("datatype"), tensor_out.get("datatype")}
    if types != {DATATYPE}:
        return f"input {tensor_in.get('datatype')} and output {tensor_out.get('datatype')} (a branch takes {DATATYPE})"
    in_shape = [int(d) for d in tensor_in.get("shape", [])]
    out_shape = [int(d) for d in tensor_out.get("shape", [])]
    max_batch = int(config.get("max_batch_size", 0))
    if max_batch < 1 or in_shape[:1] != [-1] or out_shape[:1] != [-1]:
        return f"no batch dimension (max_batch_size {max_batch}, input shape {in_shape})"
    return ModelShape(tensor_in["name"], tuple(in_shape[1:]), tensor_out["name"], tuple(out_shape[1:]), max_batch)


def _mismatch(served: ModelShape, expected: ModelShape) -> str:
    """What differs between the served model and the export (max_batch_size may be smaller: requests are split)."""
    fields = ("input_name", "input_dims", "output_name", "output_dims")
    differ = [f for f in fields if getattr(served, f) != getattr(expected, f)]
    if served.max_batch_size > expected.max_batch_size:
        differ.append("max_batch_size")
    return ", ".join(differ)


class TritonEmbedder(Embedder):
    backend = "triton"

    def __init__(self, artifact: Artifact, path: Path, manifest: Manifest, precision: str, endpoint: Endpoint) -> None:
        super().__init__(artifact, path, manifest.input, manifest.output, manifest.batch.max, precision=precision)
        self.endpoint = endpoint
        self.model = model_name(artifact.modality, precision)
        self._local = threading.local()
        self._clients: list[_Grpc] = []
        self._lock = threading.Lock()
        try:
            self.shape = self._check_served(model_shape(manifest))
        except BaseException:
            self._release()  # the channel of a refused load
            raise
        self.max_batch = self.shape.max_batch_size

    @property
    def source(self) -> str:
        """What the embeddings come from: the model at the URL."""
        return f"{self.model} at {self.endpoint.url}"

    def _client(self) -> _Grpc:
        client: _Grpc | None = getattr(self._local, "client", None)
        if client is None:
            make = _Http if self.endpoint.protocol == "http" else _Grpc
            client = self._call("connect", lambda: make(self.endpoint))
            with self._lock:
                self._clients.append(client)
            self._local.client = client
        return client

    def _check_served(self, expected: ModelShape) -> ModelShape:
        client = self._client()
        if not self._call("readiness of", lambda: client.ready(self.model)):
            raise BackendUnavailable(f"triton {self.endpoint.url}: no model {self.model!r} is ready{self._served()}")
        metadata = self._call("metadata of", lambda: client.metadata(self.model))
        config = self._call("config of", lambda: client.config(self.model))
        served = served_shape(metadata, config)
        if isinstance(served, str):
            raise ArtifactError(f"triton {self.endpoint.url}: model {self.model} serves {served}")
        differ = _mismatch(served, expected)
        if differ:
            raise ArtifactError(
                f"triton {self.endpoint.url}: model {self.model} does not serve this export ({differ} differ): it "
                f"has {served.describe()}, the manifest says {expected.describe()}; serve this export's branches"
            )
        return served

    def _served(self) -> str:
        """`(it serves: ...)` when the server lists its models (the PyTriton host keeps that list private)."""
        try:
            names = sorted(self._client().models())
        except Exception:  # best effort: the refusal stands without the list
            return f"; {HOST_HINT}"
        return f" (it serves: {', '.join(names) or 'nothing'}); {HOST_HINT}"

    def _call(self, what: str, call: Callable[[], T]) -> T:
        """`call()`, with every failure of the client or the connection as one line."""
        from tritonclient.utils import InferenceServerException

        try:
            return call()
        except InferenceServerException as err:
            self._fail(what, str(err.status() or ""), err.message() or str(err))
        except (OSError, EOFError) as err:  # HTTP: refused, reset, timed out
            self._fail(what, type(err).__name__, str(err) or type(err).__name__)

    def _fail(self, what: str, status: str, detail: str) -> NoReturn:
        where = f"triton {self.endpoint.url}"
        detail = (detail.strip().splitlines() or [status])[0]
        if "DEADLINE_EXCEEDED" in status or "timed out" in detail.lower() or "timeout" in status.lower():
            raise BackendUnavailable(
                f"{where}: {what} {self.model} had no answer within the {self.endpoint.deadline_s:g} s deadline "
                "(the server is hung or overloaded)"
            ) from None
        if "UNAVAILABLE" in status or status in ("ConnectionRefusedError", "ConnectionResetError", "BrokenPipeError"):
            raise BackendUnavailable(f"{where}: the server does not answer ({detail}); {HOST_HINT}") from None
        raise BackendUnavailable(f"{where}: {what} {self.model} failed: {detail}") from None

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        client = self._client()
        output = self._call("inference on", lambda: client.infer(self.model, self.shape, batch))
        if output.shape != (batch.shape[0], *self.shape.output_dims):
            raise ArtifactError(
                f"triton {self.endpoint.url}: {self.model} answered {batch.shape[0]} images with shape "
                f"{tuple(output.shape)}"
            )
        return output

    def statistics(self) -> ServerStatistics:
        """The served model's counters now (Triton's statistics extension)."""
        client = self._client()
        return statistics_from(self._call("statistics of", lambda: client.statistics(self.model)))

    def _release(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.close()
            except Exception:  # closing a channel to a dead server must not hide why it died
                continue
