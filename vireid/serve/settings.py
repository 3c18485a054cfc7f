"""What `vireid serve` is started with, as one frozen record the app factory reads.

The CLI parses options into `ServeSettings`; everything that decides from them (whether an address may be bound
without a token, which limits apply) lives here or in the modules that enforce it, so a test builds the same
service from the same record.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vireid.errors import VireidError

LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Limits:
    """What a client may upload. Bytes are counted while the body streams in (`upload_limit.py`), pixels are
    checked from the image header before it is decoded (`images.py`)."""

    upload_bytes: int = 8 << 20
    """Largest request body on an upload route (a search with an image, or a batch of crops)."""
    pixels: int = 16_000_000
    """Largest image, width x height: a person crop is far smaller; a decompression bomb is far larger."""
    crops_per_upload: int = 64

    def __post_init__(self) -> None:
        if self.upload_bytes < 1024 or self.pixels < 64 * 64 or self.crops_per_upload < 1:
            raise VireidError("--max-upload-bytes must be >= 1024, --max-pixels >= 4096, crops per upload >= 1")


@dataclass(frozen=True)
class Batching:
    """Micro-batching of query embeddings (`batching.py`)."""

    max_batch: int | None = None
    """Images per engine call; None: the export's optimum batch (manifest `batch.opt`). 1 turns batching off."""
    max_wait_ms: float = 2.0
    """How long a batch that is not full waits for more requests."""

    def __post_init__(self) -> None:
        if (self.max_batch is not None and self.max_batch < 1) or not 0 <= self.max_wait_ms <= 100:
            raise VireidError("--max-batch must be >= 1 and --max-wait-ms within 0..100")


@dataclass(frozen=True)
class ServeSettings:
    gallery: str
    """A FAISS folder, a milvus-lite .db path or milvus://HOST:PORT[/collection]."""
    art_dir: Path
    backend: str = "auto"
    precision: str | None = None
    threads: int | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    read_token: str | None = None
    """None: reads need no token (allowed on a loopback address only)."""
    write_token: str | None = None
    """None: the write routes are refused (403)."""
    timezone: str = "UTC"
    """The zone of hour-of-day windows and of the times the API prints."""
    cors_origins: tuple[str, ...] = ()
    audit_log: Path = Path("vireid-audit.jsonl")
    uploads: Path | None = None
    """Where uploaded crops are kept (each under its content hash); None: `GALLERY/uploads` for a FAISS folder,
    else `vireid-uploads` beside the audit log."""
    limits: Limits = field(default_factory=Limits)
    batching: Batching = field(default_factory=Batching)

    def __post_init__(self) -> None:
        zone(self.timezone)
        if not is_loopback(self.host) and self.read_token is None:
            raise VireidError(
                f"--host {self.host} is reachable from other machines and the service serves images of people: "
                "give --token-file (and bind 127.0.0.1 for a local page)"
            )
        if self.read_token is not None and self.read_token == self.write_token:
            raise VireidError("the read and write tokens must differ (a read token must not allow writes)")
        if not 0 < self.port < 65536:
            raise VireidError(f"--port must be within 1..65535, got {self.port}")

    @property
    def upload_dir(self) -> Path:
        if self.uploads is not None:
            return self.uploads
        if "://" not in self.gallery and not self.gallery.endswith(".db"):
            return Path(self.gallery) / "uploads"
        return self.audit_log.resolve().parent / "vireid-uploads"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise VireidError(f"--timezone {name!r} is not an IANA time zone (e.g. UTC, Europe/Berlin)") from None


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token_file(path: Path, option: str) -> str:
    """The token in `path` (its first non-empty line); refuses a missing, empty or world-readable file."""
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as err:
        raise VireidError(f"{option} {path} is unreadable ({err}); write the token into it") from None
    token = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(token) < 16:
        raise VireidError(f"{option} {path} must hold a token of at least 16 characters (e.g. `openssl rand -hex 24`)")
    if mode & 0o004:
        raise VireidError(f"{option} {path} is readable by every user; chmod 600 it")
    return token
