"""Atomic writes: a file is written to a temporary file beside the target, flushed, then `os.replace`d; a
folder (an export, a Triton repository) is built in a staging folder beside the target and published whole.

A reader (a resumed run, a bench loading an engine, a server loading a repository) therefore sees either the
old complete file or folder or the new complete one, never a half-written one, even when the writer is killed
mid-write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vireid.errors import VireidError


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


def check_out_folder(out: Path, force: bool, option: str = "--out") -> None:
    """Refuse an `out` that is a file, a non-empty folder without `force`, or under a missing / read-only parent."""
    if out.exists() and not out.is_dir():
        raise VireidError(f"{option} {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise VireidError(f"{out} is not empty; pass --force to replace it (old and new files are never mixed)")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise VireidError(f"{option} {out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise VireidError(f"{option} {out} is not writable (no write permission on {parent})")


def publish_folder(staging: Path, out: Path) -> None:
    """Move a finished staging folder to `out`, replacing an old one only now that the new one is complete."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(staging, out)
    except OSError as err:
        if old is not None:
            os.replace(old, out)  # put the previous folder back: nothing is lost
        raise VireidError(f"cannot publish {out} ({err.strerror}); the previous contents are unchanged") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike[str], force: bool, option: str = "--out") -> Iterator[Path]:
    """Yield an empty staging folder beside `out`; when the body succeeds it becomes `out` (replacing an old one
    only with `force`), when it raises it is removed and `out` is untouched."""
    out = Path(out)
    check_out_folder(out, force, option)
    parent = out.resolve().parent
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as err:
        raise VireidError(f"{option} {out} is not writable ({err.strerror}: {parent})") from None
    staging.chmod(0o755)  # mkdtemp makes it private; what is published is meant to be shared
    try:
        yield staging
        publish_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
