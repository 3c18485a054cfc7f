"""The audit log: one JSON line per search, image view refused, upload or removal: who asked, when, with which
filters, and which crop ids came back.

The service serves images of people, so who looked for whom is kept. Each record is one `write` of one line to a
file opened with O_APPEND, so concurrent records never interleave and a SIGKILL loses no record already written
(the kernel holds it); `fsync` is left to the file system's own schedule, which only a power cut can outrun.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

from vireid.errors import VireidError
from vireid.serve.auth import Principal


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as err:
            raise VireidError(f"--audit-log {path}: cannot open it for appending ({err.strerror})") from None
        self._lock = threading.Lock()

    def record(self, principal: Principal, action: str, **fields: Any) -> None:
        entry = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "who": principal.name,
            "action": action,
            **fields,
        }
        line = (json.dumps(entry, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
