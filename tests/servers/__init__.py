"""Real servers the tests start (Triton, Milvus, the search service) and the one rule for when one cannot start.

A test that needs a server this machine cannot run (a package not installed, no root for a private network
namespace, no Chromium) skips with one line that says how to get it. On CI that skip would hide a whole
capability, so `.ci/run` sets `REQUIRE_SERVERS_ENV`, and `unavailable` then fails the test instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRE_SERVERS_ENV = "VIREID_TEST_REQUIRE_SERVERS"
"""Set to 1 (CI does): a server test that cannot run fails instead of skipping."""


def required() -> bool:
    return os.environ.get(REQUIRE_SERVERS_ENV) == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip with `reason` (one line: what is missing and how to get it), or fail where servers are required."""
    if required():
        pytest.fail(f"{reason} ({REQUIRE_SERVERS_ENV}=1: a server test may not skip here)", pytrace=False)
    pytest.skip(reason)


def shared_server(
    request: pytest.FixtureRequest,
    factory: pytest.TempPathFactory,
    name: str,
    start: Callable[[Path], Path],
    stop: Callable[[Path], None],
) -> Path:
    """One server per test run, shared by the xdist workers: `start(folder)` runs once, by the first worker that
    asks, and returns the file that records the server (its PIDs, its address); every worker gets that file.
    `stop(record)` ends it: at the end of the session without xdist, else from the controller's
    `pytest_sessionfinish` (`stop_shared_server`), once every worker has finished with it."""
    from tests.conftest import _built_once

    record = _built_once(factory, name, start)
    if "PYTEST_XDIST_WORKER" not in os.environ:
        request.addfinalizer(lambda: stop(record))
    return record


def stop_shared_server(session: pytest.Session, name: str, stop: Callable[[Path], None]) -> None:
    """In the xdist controller's `pytest_sessionfinish`: stop the workers' shared server `name`, if one started."""
    if "PYTEST_XDIST_WORKER" in os.environ or not hasattr(session.config, "_tmp_path_factory"):
        return
    built = session.config._tmp_path_factory.getbasetemp() / f"{name}.built"
    if built.is_file():
        stop(Path(built.read_text()))
