"""Progress reporting: a rich progress bar on a terminal, nothing (or plain log lines) otherwise.

Long work (training epochs, feature extraction, calibration, benchmarking) reports through `progress()`, so
that CI logs and pipes stay readable while a user at a terminal sees a live bar.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


def interactive() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress(total: int, description: str, enabled: bool | None = None) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n)`; draws a bar on stderr when `enabled` (default: stderr is a terminal)."""
    if enabled is None:
        enabled = interactive()
    if not enabled:
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


def _ignore(_n: int = 1) -> None:
    return None


def log(message: str) -> None:
    """A plain status line on stderr (stdout stays for results)."""
    print(message, file=sys.stderr, flush=True)
