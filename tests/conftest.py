"""Shared fixtures, the gpu / trt skips, and how the suite splits over pytest-xdist workers.

Tests use tiny configs (resnet18, small inputs, few ids) except those marked `slow`, which exercise the full
resnet50 288x144 model the paper uses.

The suite runs on one xdist worker per core (`-n auto` in pyproject.toml, at most `MAX_WORKERS`). Most of its time
is single-threaded Python (the dynamo exporter's tracing), so two workers on two cores finish far sooner than one.
Each worker gets its share of the cores as torch threads, and the costly session fixtures are built once per run
and shared (`_built_once`), not once per worker (docs/architecture.md, "Tests").
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.servers.milvus",  # the Milvus server fixtures (milvus_server, milvus_location)
    "tests.servers.triton",  # the runtime's own venv and the Triton host (runtime_venv, triton_host)
]

MAX_WORKERS = 4
"""Each worker holds a torch process (about 1 GB); beyond four the session fixtures' wait outweighs the gain."""


def _threads_per_worker() -> int:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, (os.cpu_count() or 1) // workers)


# Set before any test imports torch: two workers with two OpenMP threads each on two cores spin against each other
# (the suite took 570 s that way, against 300 s with one thread each).
os.environ["OMP_NUM_THREADS"] = str(min(2, _threads_per_worker()))
# milvus-lite's gRPC client logs keep-alive GOAWAYs from a background thread after its test has ended, outside the
# worker's output capture; they are noise in the suite's log, not failures.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


TRAINED_FIXTURES = frozenset({"demo_run", "demo_export", "trt_export"})
"""Session fixtures that cost a training run or an export (about 60 s on 2 cores)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _trained_fixtures_first_then_last(items)
    has_gpu = _has_cuda()
    has_trt = importlib.util.find_spec("tensorrt") is not None and has_gpu
    for item in items:
        # get_closest_marker, not `in item.keywords`: parametrize ids also land in keywords.
        if item.get_closest_marker("gpu") and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="needs an NVIDIA GPU with CUDA"))
        if item.get_closest_marker("trt") and not has_trt:
            item.add_marker(pytest.mark.skip(reason="needs TensorRT and an NVIDIA GPU"))


def _trained_fixtures_first_then_last(items: list[pytest.Item]) -> None:
    """One test that needs the trained fixtures first, the others last.

    xdist hands out the collection in order, one test to whichever worker is free (`--maxschedchunk=1`). The first
    worker starts building the fixtures at once while the other runs tests that need none; by the time both reach
    the rest, the fixtures are built."""
    needs = [bool(TRAINED_FIXTURES & set(getattr(item, "fixturenames", ()))) for item in items]
    trained = [item for item, need in zip(items, needs, strict=True) if need]
    if trained:
        others = [item for item, need in zip(items, needs, strict=True) if not need]
        items[:] = [trained[0], *others, *trained[1:]]


def _built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]) -> Path:
    """`build(folder)` once per test run: the first xdist worker to ask builds it, under a file lock, and the
    others wait for it and reuse it. Without xdist it is an ordinary session fixture."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(factory.mktemp(name))
    folder = factory.getbasetemp().parent / name  # shared by the workers of this run
    done, failed = folder.with_suffix(".built"), folder.with_suffix(".failed")
    with _locked(folder.with_suffix(".lock")):
        if failed.exists():  # one failed build per run: the other workers report it rather than build again
            raise RuntimeError(f"the shared fixture {name!r} failed on another worker: {failed.read_text()}")
        if not done.exists():
            folder.mkdir()
            try:
                done.write_text(str(build(folder)))
            except BaseException as err:
                failed.write_text(f"{type(err).__name__}: {err}".splitlines()[0])
                raise
    return Path(done.read_text())


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session", autouse=True)
def _export_memo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each distinct dynamo export once per run (tests/export_memo.py says what the key holds)."""
    if os.environ.get("VIREID_TEST_EXPORT_MEMO") == "0":
        yield
        return
    import torch

    from tests.export_memo import memoised

    worker = "PYTEST_XDIST_WORKER" in os.environ
    store = (tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp()) / "onnx-memo"
    store.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.onnx, "export", memoised(torch.onnx.export, store))
        yield


# --- shared, session-scoped artefacts: generated once, reused by the data, train, export, runtime and bench tests.

DEMO_TEST_OVERRIDES = (
    "train.epochs=6",
    "train.batches_per_epoch=8",
    "train.warmup_epochs=1",
    "train.milestones=[5]",
    "train.ids_per_batch=6",
    "data.workers=0",
)
"""The demo preset, shortened so that the suite stays within its time budget on 2 cores (about 90 s of
training; all-search R1 about 0.79 over 10 trials on `synthetic_sysu`, against 0.21 untrained and 0.20 chance)."""

SYNTHETIC_IDS = 24
"""Identities in `synthetic_sysu`: 19 train + val and 5 test, so chance all-search Rank-1 is 1/5."""

SYNTHETIC_IR_COUPLING = 1.0
"""`synthetic_sysu` keeps the generator's old rule (infrared level = visible lightness), not the default 0.3: the
suite's 90-second demo training learns across modalities through that lightness match (R1 0.79, chance 0.20),
while at 0.3 it reached 0.31 and at 0 0.32 (benchmarks/results/demo_recipe/search.md), under the 2x-chance bar of
the learning test. A coupling-0 learning test was retired: from random weights at this scale the
cross-modal match is memorised, not learnt (benchmarks/modality_gap.py)."""


@pytest.fixture(scope="session")
def synthetic_sysu(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A small generated SYSU-MM01 tree, at `SYNTHETIC_IR_COUPLING`."""
    from vireid.data.synthetic import generate

    def build(folder: Path) -> Path:
        root = folder / "sysu"
        generate(
            "sysu", root, ids=SYNTHETIC_IDS, seed=0, images_per_camera=5, workers=2, ir_coupling=SYNTHETIC_IR_COUPLING
        )
        return root

    return _built_once(tmp_path_factory, "data", build)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, synthetic_sysu):  # type: ignore[no-untyped-def]
    """`vireid train --preset demo`, shortened, on `synthetic_sysu`: a real, learning run directory."""
    from typer.testing import CliRunner

    from vireid.cli.app import app

    def build(folder: Path) -> Path:
        out = folder / "demo"
        overrides = [arg for override in DEMO_TEST_OVERRIDES for arg in ("--set", override)]
        args = ["train", "--preset", "demo", "--data", str(synthetic_sysu), "--out", str(out), *overrides]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return out

    return _built_once(tmp_path_factory, "runs", build)


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory, demo_run):  # type: ignore[no-untyped-def]
    """fp32 + fp16 + int8 ONNX export of `demo_run` (small calibration and search sets, to stay quick)."""
    from vireid_export.branch import SearchOptions
    from vireid_export.int8.calibration import method_named
    from vireid_export.pipeline import ExportOptions, export_run

    options = ExportOptions(
        precisions=("fp32", "fp16", "int8"),
        batches=(1, 4, 16),
        calib_count=24,
        search_pool=48,
        screen_count=96,
        # One method: comparing methods is test_gate_sample_size's (it costs a calibration pass per graph here).
        search=SearchOptions(search_images=24, methods=(method_named("minmax"),)),
    )

    def build(folder: Path) -> Path:
        export_run(demo_run, folder / "demo", options, log=lambda _message: None)
        return folder / "demo"

    return _built_once(tmp_path_factory, "artifacts", build)


@pytest.fixture(scope="session")
def trt_export(tmp_path_factory: pytest.TempPathFactory, demo_run):  # type: ignore[no-untyped-def]
    """`vireid export --engine trt --precision fp32,fp16,int8` of `demo_run` (GPU + TensorRT tests only)."""
    from vireid_export.branch import SearchOptions
    from vireid_export.int8.calibration import method_named
    from vireid_export.pipeline import ExportOptions, export_run

    out = tmp_path_factory.mktemp("artifacts") / "trt"
    options = ExportOptions(
        engine="trt",
        precisions=("fp32", "fp16", "int8"),
        batches=(1, 4, 8),
        calib_count=24,
        search_pool=48,
        screen_count=96,
        search=SearchOptions(search_images=24, methods=(method_named("percentile 99.99"),)),
    )
    export_run(demo_run, out, options, log=lambda _message: None)
    return out
