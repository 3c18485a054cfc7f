"""One dataset image as the readers hand it out: `Sample(path, pid, camid, modality)` (docs/architecture.md, "Data").

Readers (`SYSUMM01`, `RegDB`) return lists of samples with absolute paths and the dataset's own identity
labels; they never resize, copy or relabel anything on disk. Relabelling to 0..N-1 is the trainer's job.
"""

from __future__ import annotations

import os
from typing import Literal, NamedTuple

Modality = Literal["visible", "infrared"]
"""The two camera kinds; every layer (data, model, search, export) uses this one definition."""
MODALITIES: tuple[Modality, Modality] = ("visible", "infrared")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class Sample(NamedTuple):
    """An image file and its labels."""

    path: str
    """Absolute path of the image file."""
    pid: int
    """Identity label as the dataset writes it (SYSU-MM01: the folder id; RegDB: the idx-file label)."""
    camid: int
    """Camera: SYSU-MM01 1..6 (visible 1, 2, 4, 5; infrared 3, 6); RegDB 1 (visible) or 2 (thermal)."""
    modality: Modality


def is_image_name(name: str) -> bool:
    """An image file name, skipping hidden files (e.g. `.DS_Store`, or an atomic writer's `.name.tmp`)."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def image_files(root: str | os.PathLike[str]) -> list[str]:
    """Every image under `root`, recursively, in sorted order (a folder of images used as a gallery or as
    calibration data)."""
    return sorted(
        os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names if is_image_name(name)
    )
