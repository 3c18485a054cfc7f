"""File-level helpers of `vireid deploy`: placing model files, and writing the DeepStream folder.

Model files are hard-linked from ART_DIR when it is on the same filesystem (no second copy of a large graph),
copied otherwise. Every output folder is staged and published whole (`vireid.io.atomic.staged_folder`).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from vireid.deploy.deepstream import reid_section
from vireid.io.atomic import atomic_write_text, staged_folder
from vireid_runtime.load import artifact_path
from vireid_runtime.manifest import Artifact, read_manifest

NO_LINK = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP)
"""Why a hard link may be impossible (another filesystem, links not allowed): then the file is copied."""


def place_artifact(art_dir: Path, artifact: Artifact, target: Path) -> None:
    """The artifact's file at `target`, hard-linked or copied; a missing or modified file is a one-line
    ArtifactError (`load.artifact_path` checks it against the manifest)."""
    source = artifact_path(art_dir, artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError as err:
        if err.errno not in NO_LINK:
            raise
        shutil.copyfile(source, target)


def write_deepstream(
    art_dir: str | Path,
    out: str | Path,
    branch: str,
    *,
    precision: str = "fp32",
    reid_type: int = 2,
    batch_size: int | None = None,
    force: bool = False,
) -> Path:
    """OUT/config_tracker_reid_<branch>.yml and its model file beside it; returns the config's path."""
    art_dir = Path(art_dir)
    section = reid_section(
        read_manifest(art_dir), branch, precision=precision, reid_type=reid_type, batch_size=batch_size
    )
    name = f"config_tracker_reid_{branch}.yml"
    with staged_folder(out, force) as staging:
        for artifact in section.files:
            place_artifact(art_dir, artifact, staging / artifact.file)
        atomic_write_text(staging / name, section.text)
    return Path(out) / name
