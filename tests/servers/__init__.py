"""Real servers the tests start (Triton, Milvus, the search service) and the one rule for when one cannot start.

A test that needs a server this machine cannot run (a package not installed, no root for a private network
namespace, no Chromium) skips with one line that says how to get it. On CI that skip would hide a whole
capability, so `.ci/run` sets `REQUIRE_SERVERS_ENV`, and `unavailable` then fails the test instead.
"""

from __future__ import annotations

import os
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
