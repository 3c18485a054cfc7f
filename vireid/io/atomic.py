"""Atomic file writes: write to a temporary file beside the target, flush it to disk, then `os.replace`.

A reader (a resumed run, a bench loading an engine) therefore sees either the old complete file or the new
complete file, never a half-written one, even when the writer is killed mid-write.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces `target` atomically.

    Use it with writers that want a file name (safetensors, torch.save, onnx, PIL). If the body raises, the
    temporary file is removed and `target` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; artifacts are meant to be shared and deployed.
        os.chmod(tmp, 0o644)
        _fsync_file(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 `text` to `target` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))


def append_line(target: str | os.PathLike[str], line: str) -> None:
    """Append one line to a log file atomically (copy, append, replace).

    Logs such as metrics.jsonl stay small, so a full rewrite per line costs little and a kill can never
    leave a torn last line.
    """
    target = Path(target)
    old = target.read_bytes() if target.exists() else b""
    atomic_write_bytes(target, old + line.rstrip("\n").encode("utf-8") + b"\n")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
