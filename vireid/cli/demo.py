"""`vireid demo`."""

from __future__ import annotations

from vireid.cli.common import user_errors
from vireid.errors import NotBuiltYet


@user_errors
def demo_cli() -> None:
    """Not built yet."""
    raise NotBuiltYet("`vireid demo` is not built yet")
