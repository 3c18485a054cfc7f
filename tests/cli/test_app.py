"""The CLI skeleton: help, version, start-up cost."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from vireid import __version__
from vireid.cli.app import app

runner = CliRunner()
VERBS = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
"""Every verb, from the app itself: a new one is covered without editing this list."""


def test_the_verbs_are_read_from_the_app() -> None:
    assert {"train", "eval", "export", "bench", "data", "deploy", "demo", "search"} <= set(VERBS)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize("verb", [None, *VERBS])
def test_every_verb_has_help(verb: str | None) -> None:
    args = [verb, "-h"] if verb else ["-h"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from vireid.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "heavy = [m for m in ('torch', 'torchvision', 'onnx', 'onnxruntime', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_python_dash_m_matches_console_script() -> None:
    result = subprocess.run([sys.executable, "-m", "vireid", "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and __version__ in result.stdout


def test_help_text_drops_the_source_line_breaks_but_keeps_paragraphs_and_lists() -> None:
    from vireid.cli.common import reflow

    doc = """First line.

    A sentence broken
        at the source's width.

    - one item
    - another
      continued
    """
    assert reflow(doc) == "First line.\n\nA sentence broken at the source's width.\n\n- one item\n- another continued"
