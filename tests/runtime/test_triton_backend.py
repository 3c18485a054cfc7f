"""The `triton` backend against a real Triton server (`vireid-triton-host`, tests/servers/triton.py).

Its promises: the same embeddings as the in-process backend the server runs; a served model that disagrees with
the manifest, a model the server lacks, a dead server and a hung one are each one line, never a hang or a
fallback; concurrent clients get exactly their own rows back although dynamic batching merges their requests.
It is a remote backend: never `auto`'s choice, never a CPU backend of the demo, never in a manifest.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import artifact_copy
from vireid.deploy.triton_process import HostProcess, free_ports, group_members, mapped_shared_memory
from vireid_runtime import ArtifactError, BackendUnavailable, load_embedder
from vireid_runtime.backends import AUTO_ORDER, BACKENDS, backends_for, cpu_backends
from vireid_runtime.backends.triton import Endpoint, TritonEmbedder


def _images(embedder, count: int, seed: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    spec = embedder.input_spec
    return np.random.default_rng(seed).random((count, 3, spec.height, spec.width), dtype=np.float32)


def _one_line(err: pytest.ExceptionInfo[Exception], url: str) -> str:
    message = str(err.value)
    assert "\n" not in message and url in message, message
    return message


def test_triton_is_a_remote_backend_that_nothing_picks_by_itself() -> None:
    assert BACKENDS["triton"].remote and not any(BACKENDS[name].remote for name in AUTO_ORDER)
    assert "triton" not in cpu_backends()
    for precision, flavour in (("fp32", ""), ("int8", "qdq-u8s8"), ("int8", "qdq-s8-symmetric")):
        assert "triton" not in backends_for("onnx", precision, flavour)
    assert Endpoint("127.0.0.1:8001").protocol == "grpc" and Endpoint("grpc://[::1]:8001").address == "[::1]:8001"
    assert Endpoint("http://localhost:8000").protocol == "http"
    for url, problem in (("https://h:1", "scheme"), ("grpc://host", "grpc://HOST:PORT"), ("grpc://h:1/x", "PORT")):
        with pytest.raises(ValueError, match=problem):
            Endpoint(url)


def test_a_url_goes_to_the_remote_backend_only(demo_export: Path) -> None:
    with pytest.raises(ValueError, match="runs on a server: give its URL"):
        load_embedder(demo_export, "visible", "triton")
    with pytest.raises(ValueError, match="ort-cpu runs in this process"):
        load_embedder(demo_export, "visible", "ort-cpu", url="grpc://127.0.0.1:8001")
    with pytest.raises(ValueError, match="auto picks among the backends that run here"):
        load_embedder(demo_export, "visible", "auto", url="grpc://127.0.0.1:8001")


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_embeddings_over_triton_equal_the_backend_the_server_runs(
    triton_host: HostProcess, demo_export: Path, protocol: str
) -> None:
    url = triton_host.grpc_url if protocol == "grpc" else triton_host.http_url
    with (
        load_embedder(demo_export, "infrared", "triton", "fp32", url=url) as remote,
        load_embedder(demo_export, "infrared", "ort-cpu", "fp32") as local,
    ):
        assert isinstance(remote, TritonEmbedder) and remote.max_batch == 16
        batch = _images(remote, 21)  # two requests: 16 and 5
        np.testing.assert_allclose(remote.embed(batch), local.embed(batch), rtol=0, atol=1e-6)
        assert remote.artifact.file == "infrared.onnx" and remote.source == f"infrared-fp32 at {url}"


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [("height", 128, "input_dims"), ("name", "pixels", "input_name")],
)
def test_a_served_model_that_disagrees_with_the_manifest_is_refused_in_one_line(
    triton_host: HostProcess, demo_export: Path, tmp_path: Path, field: str, value: object, named: str
) -> None:
    other = artifact_copy(demo_export, tmp_path / "other")
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["input"][field] = value
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError) as err:
        load_embedder(other, "visible", "triton", "fp32", url=triton_host.grpc_url)
    message = _one_line(err, triton_host.grpc_url)
    assert f"({named} differ)" in message and "visible-fp32" in message and "the manifest says" in message


def test_a_model_the_server_lacks_and_a_server_that_is_gone_are_one_line(
    triton_host: HostProcess, demo_export: Path
) -> None:
    with pytest.raises(BackendUnavailable) as err:
        load_embedder(demo_export, "visible", "triton", "int8", url=triton_host.grpc_url)
    assert "no model 'visible-int8' is ready" in _one_line(err, triton_host.grpc_url)
    (port,) = free_ports(1)  # nothing listens there
    closed = f"grpc://127.0.0.1:{port}"
    with pytest.raises(BackendUnavailable) as err:
        load_embedder(demo_export, "visible", "triton", "fp32", url=closed, deadline_s=5)
    assert "the server does not answer" in _one_line(err, closed)


def test_concurrent_clients_get_the_answers_of_single_requests(triton_host: HostProcess, demo_export: Path) -> None:
    with load_embedder(demo_export, "visible", "triton", "fp32", url=triton_host.grpc_url) as embedder:
        assert isinstance(embedder, TritonEmbedder)
        clients, per_client = 8, 6
        requests = [_images(embedder, 1 + (i % 2), seed=i) for i in range(clients * per_client)]
        alone = [embedder.embed(batch) for batch in requests]  # one at a time: nothing to merge
        answers: dict[int, np.ndarray] = {}
        before = embedder.statistics()

        def client(first: int) -> None:
            for index in range(first, len(requests), clients):
                answers[index] = embedder.embed(requests[index])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        counted = embedder.statistics().since(before)
    assert len(answers) == len(requests)
    references = np.concatenate(alone)
    for index, answer in answers.items():
        # merged requests change only the batch the engine sees: within its own batch-1 vs batch-N tolerance
        # (test_conformance; 1.4e-7 measured for ort-cpu here), and never a neighbour's row
        np.testing.assert_allclose(answer, alone[index], rtol=0, atol=1e-5)
        nearest = np.argmax(answer @ references.T, axis=1)  # each row is its own request's, never a neighbour's
        own = sum(len(batch) for batch in requests[:index])
        assert list(nearest) == list(range(own, own + len(answer)))
    assert counted.requests >= len(requests)
    assert counted.executions < counted.requests  # dynamic batching merged concurrent requests


@pytest.mark.slow
def test_a_hung_then_killed_server_is_one_line_not_a_hang(own_triton_host: HostProcess, demo_export: Path) -> None:
    host = own_triton_host
    for url in (host.grpc_url, host.http_url):
        with load_embedder(demo_export, "visible", "triton", "fp32", url=url, deadline_s=2) as embedder:
            batch = _images(embedder, 4)
            host.signal_group(signal.SIGSTOP)  # hung: the process is there, nothing answers
            try:
                with pytest.raises(BackendUnavailable) as err:
                    embedder.embed(batch)
            finally:
                host.signal_group(signal.SIGCONT)
            assert "had no answer within the 2 s deadline" in _one_line(err, url)
            assert embedder.embed(batch).shape == (4, embedder.output_spec.dim)  # and it answers again

    embedder = load_embedder(demo_export, "visible", "triton", "fp32", url=host.grpc_url, deadline_s=30)
    batch = _images(embedder, 16)
    failures: list[Exception] = []
    answered = threading.Event()

    def keep_asking() -> None:
        for _ in range(10_000):
            try:
                embedder.embed(batch)
            except Exception as err:
                failures.append(err)
                return
            answered.set()

    asking = threading.Thread(target=keep_asking)
    asking.start()
    assert answered.wait(60)
    segments = mapped_shared_memory(group_members(host.pid))
    host.kill()  # SIGKILL to the whole group while requests are in flight
    asking.join(timeout=60)
    embedder.close()
    assert not asking.is_alive(), "a request to a killed server hung"
    (failure,) = failures
    assert isinstance(failure, BackendUnavailable)
    assert "\n" not in str(failure) and host.grpc_url in str(failure), str(failure)
    # nothing of it runs, and what a killed server cannot remove itself is gone with the teardown's cleanup
    host.remove_leftovers()
    assert not group_members(host.pid) and segments and not [s for s in segments if s.exists()]
    assert not [path for path in (host.workspace, *host.leftovers) if Path(path).exists()]
