"""`vireid search`."""

from __future__ import annotations

from vireid.cli.common import user_errors
from vireid.errors import NotBuiltYet


@user_errors
def search_cli() -> None:
    """Not built yet."""
    raise NotBuiltYet("`vireid search` is not built yet")
