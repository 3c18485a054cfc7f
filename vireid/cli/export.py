"""`vireid export`."""

from __future__ import annotations

from vireid.cli.common import user_errors
from vireid.errors import NotBuiltYet


@user_errors
def export_cli() -> None:
    """Not built yet."""
    raise NotBuiltYet("`vireid export` is not built yet")
