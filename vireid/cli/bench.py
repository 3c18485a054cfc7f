"""`vireid bench`."""

from __future__ import annotations

from vireid.cli.common import user_errors
from vireid.errors import NotBuiltYet


@user_errors
def bench_cli() -> None:
    """Not built yet."""
    raise NotBuiltYet("`vireid bench` is not built yet")
