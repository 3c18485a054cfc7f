"""The records a gallery hands across layers: crops, matches, filters, its fingerprint and its description."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vireid.data.sample import Modality
from vireid.errors import VireidError

GALLERY_FORMAT = "vireid-gallery/1"


@dataclass(frozen=True)
class Crop:
    """One person crop as the gallery stores it (the vector travels beside it)."""

    content: str
    """SHA-256 of the image file: the same image is never stored twice."""
    path: str
    modality: Modality
    camera: str = ""
    time: int = 0
    """Capture time, seconds since the epoch (0 when unknown)."""
    track: int = -1
    """Tracker id (-1 when unknown)."""
    identity: int = -1
    """Identity label where the dataset layout says it (-1 otherwise); used by `gallery eval` only."""


@dataclass(frozen=True)
class Match:
    """One ranked answer: the stored crop, its gallery id and its cosine score to the query."""

    id: int
    score: float
    crop: Crop


@dataclass(frozen=True)
class StoredCrop:
    """A stored crop with its gallery id and its vector (what a re-query by id starts from)."""

    id: int
    crop: Crop
    vector: np.ndarray


MAX_WINDOWS = 1100
"""Capture-time intervals one filter may hold (an hour window over `hours.MAX_DAYS` days, with room)."""


@dataclass(frozen=True)
class CropFilter:
    """Which crops a search or a removal may touch. Empty fields allow everything; fields combine with and."""

    cameras: tuple[str, ...] = ()
    since: int | None = None
    until: int | None = None
    ids: tuple[int, ...] = ()
    windows: tuple[tuple[int, int], ...] = ()
    """Capture-time intervals [start, end) in epoch seconds, any of which a crop's time must fall in (an hour
    window's nights: `hours.HourWindow.intervals`); an interval with start >= end holds nothing."""

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise VireidError(f"--since {self.since} is after --until {self.until}")
        if any(not 0 <= i < 2**63 for i in self.ids):
            raise VireidError("--id takes gallery ids as `vireid gallery search` prints them (#N), 0 <= N < 2^63")
        if len(self.windows) > MAX_WINDOWS:
            raise VireidError(f"a filter holds at most {MAX_WINDOWS} time windows, got {len(self.windows)}")
        object.__setattr__(self, "windows", tuple((int(a), int(b)) for a, b in self.windows))

    @property
    def empty(self) -> bool:
        return not self.cameras and self.since is None and self.until is None and not self.ids and not self.windows


@dataclass(frozen=True)
class Fingerprint:
    """The export a gallery's vectors come from: each branch's fp32 graph hash (every precision of a branch is
    certified against it), the dimension and the normalisation. Queries from another export are refused."""

    visible: str
    infrared: str
    dim: int
    normalisation: str = "l2"

    def of(self, modality: Modality) -> str:
        return self.visible if modality == "visible" else self.infrared

    def require_same(self, other: Fingerprint, where: str) -> None:
        if self != other:
            raise VireidError(
                f"{where} belongs to another export: the gallery holds vectors of visible {self.visible[:12]} / "
                f"infrared {self.infrared[:12]} (dim {self.dim}), the artifacts are visible {other.visible[:12]} / "
                f"infrared {other.infrared[:12]} (dim {other.dim}); use the gallery's own export or a new gallery"
            )


@dataclass(frozen=True)
class PartitionInfo:
    modality: Modality
    crops: int
    index: str
    """The index type and its settings, e.g. "flat" or "ivf-sq8 nlist=4096 nprobe=32 rescore=4x"."""
    pending: int = 0
    """Crops committed but not yet in the index (searched exactly until the next `add` folds them in)."""
    disk_bytes: int = 0
    memory_bytes: int = 0


@dataclass(frozen=True)
class GalleryInfo:
    store: str
    location: str
    fingerprint: Fingerprint | None
    partitions: tuple[PartitionInfo, ...] = field(default_factory=tuple)

    @property
    def crops(self) -> int:
        return sum(p.crops for p in self.partitions)
