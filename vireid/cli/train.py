"""`vireid train`."""

from __future__ import annotations

from vireid.cli.common import user_errors
from vireid.errors import NotBuiltYet


@user_errors
def train_cli() -> None:
    """Not built yet."""
    raise NotBuiltYet("`vireid train` is not built yet")
