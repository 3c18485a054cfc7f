"""`vireid eval`."""

from __future__ import annotations

from vireid.cli.common import user_errors
from vireid.errors import NotBuiltYet


@user_errors
def eval_cli() -> None:
    """Not built yet."""
    raise NotBuiltYet("`vireid eval` is not built yet")
