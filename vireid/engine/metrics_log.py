"""metrics.jsonl: one JSON object per line (steps, epochs with validation, the final summary).

Lines are appended atomically, and a resumed run first cuts the file back to the lines its trainer state
counted, so the log never holds the half-epoch that a killed run did not commit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vireid.io.atomic import append_line, atomic_write_text


class MetricsLog:
    FILE = "metrics.jsonl"

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / self.FILE

    def reset(self) -> None:
        atomic_write_text(self.path, "")

    def append(self, record: dict[str, Any]) -> None:
        append_line(self.path, json.dumps(record, sort_keys=False))

    def count(self) -> int:
        return len(self.read_lines())

    def read_lines(self) -> list[str]:
        if not self.path.is_file():
            return []
        return [line for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.read_lines()]

    def truncate(self, lines: int) -> None:
        kept = self.read_lines()[:lines]
        atomic_write_text(self.path, "".join(line + "\n" for line in kept))
