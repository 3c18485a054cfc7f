"""Helpers shared by the CLI verbs: one-line user errors, list options, the console."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from vireid.errors import VireidError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(command: F) -> F:
    """Report `VireidError` (and the runtime's user errors) as one line on stderr; other exceptions are bugs."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except VireidError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; nothing half-written was left behind", err=True)
            raise typer.Exit(130) from None
        except Exception as err:
            if not _is_runtime_user_error(err):
                raise
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _is_runtime_user_error(err: Exception) -> bool:
    """A `vireid_runtime` user error (bad artifacts, backend unavailable) also deserves one line, not a trace.

    Looked up in sys.modules rather than imported, so that `vireid --help` stays light: an error can only come
    from the runtime if the runtime was imported.
    """
    errors = sys.modules.get("vireid_runtime.errors")
    return errors is not None and isinstance(err, errors.RuntimeUserError)


def csv_list(value: str, name: str) -> list[str]:
    """Split a comma-separated option (`--precision fp32,int8`) into its non-empty items."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise VireidError(f"{name} is empty; give a comma-separated list")
    return items


def csv_ints(value: str, name: str) -> list[int]:
    try:
        numbers = [int(item) for item in csv_list(value, name)]
    except ValueError:
        raise VireidError(f"{name} must be comma-separated integers, got {value!r}") from None
    if any(n < 1 for n in numbers):
        raise VireidError(f"{name} values must be >= 1, got {value!r}")
    return numbers


def is_tty() -> bool:
    return sys.stderr.isatty()


def reflow(docstring: str | None) -> str:
    """A command's docstring as `--help` text: paragraphs kept, the source's line breaks inside them dropped.

    Typer's rich markup mode prints single newlines as they are, which breaks sentences at the source's
    line width instead of the terminal's. Lines that open a list item ("- ") stay on their own line.
    """
    paragraphs = []
    for block in inspect.cleandoc(docstring or "").split("\n\n"):
        lines: list[str] = []
        for line in block.splitlines():
            if lines and not line.lstrip().startswith("- "):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.strip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def register(app: typer.Typer, name: str, command: Callable[..., Any], help: str | None = None) -> None:
    """The one way a verb joins a Typer app: its `--help` is its docstring, reflowed, or `help` as given."""
    app.command(name, help=help if help is not None else reflow(command.__doc__))(command)
