"""`vireid data`: generate, check and preview datasets."""

from __future__ import annotations

import typer

from vireid.cli.common import user_errors
from vireid.errors import NotBuiltYet

app = typer.Typer(help="Generate, check and preview VI-ReID datasets.", no_args_is_help=True)


@app.command("check")
@user_errors
def check_cli() -> None:
    """Not built yet."""
    raise NotBuiltYet("`vireid data check` is not built yet")
