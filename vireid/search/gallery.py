"""Gallery files and the identities their paths reveal.

A gallery is a folder (searched recursively for images) or a text file listing one image path per line.
When paths follow a known layout, the identity is read from them — SYSU-MM01 `cam3/0007/0012.jpg`, RegDB
`Thermal/285/..._285.bmp` — so the ranked list can mark right and wrong matches.
"""

from __future__ import annotations

from pathlib import Path

from vireid.data.sample import IMAGE_SUFFIXES, image_files
from vireid.errors import VireidError


def gallery_files(source: str | Path) -> list[Path]:
    """Image paths of a gallery folder (recursive, sorted) or of a list file (in its order)."""
    source = Path(source)
    if source.is_dir():
        files = [Path(path) for path in image_files(source)]
    elif source.is_file():
        base = source.parent
        lines = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
        files = [Path(line) if Path(line).is_absolute() else base / line for line in lines if line]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise VireidError(f"gallery list {source} names {missing[0]}, which does not exist")
    else:
        raise VireidError(f"gallery {source} is neither a folder of images nor a list file")
    if not files:
        raise VireidError(f"gallery {source} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files
