"""Every command the README shows is a real command line: the verb exists and every option parses.

What each verb does is tested by its own tests and by `vireid demo`; this test keeps the user guide from
drifting away from the CLI.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vireid.cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip().replace("$t", "1")
            if line.startswith("vireid "):
                commands.append(shlex.split(line)[1:])
            elif " -m vireid " in line:
                commands.append(shlex.split(line.split(" -m vireid ", 1)[1]))
    return commands


def test_the_readme_shows_the_main_commands() -> None:
    verbs = {command[0] for command in readme_commands()}
    assert {"demo", "train", "eval", "export", "bench", "search", "data", "deploy", "gallery", "serve"} <= verbs
    galleries = {command[1] for command in readme_commands() if command[0] == "gallery"}
    assert galleries == {"add", "search", "eval", "info", "remove"}  # "Searching a large gallery"
    deploys = {command[1] for command in readme_commands() if command[0] == "deploy"}
    assert deploys == {"triton", "deepstream"}  # "Serving with Triton" and "Tracking with DeepStream"


@pytest.mark.parametrize("args", readme_commands(), ids=lambda a: " ".join(a)[:60])
def test_readme_command_parses(args: list[str]) -> None:
    # --help is eager: the command line is parsed (unknown verbs and options fail) but nothing runs.
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
