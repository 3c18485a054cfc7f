"""Which dataset a folder holds, told from its on-disk layout, so commands take a bare `PATH`.

SYSU-MM01 is recognised by `exp/test_id.txt` or its `cam1`..`cam6` folders, RegDB by its `idx/` folder (see
`vireid.data.sysu` and `vireid.data.regdb` for the full layouts). Anything else is a one-line error that says
which files were expected, and points into a single sub-folder that does look like a dataset (the usual
mistake: passing the folder that the archive was extracted into).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from vireid.errors import VireidError

Layout = Literal["sysu", "regdb"]
LAYOUTS: tuple[Layout, ...] = ("sysu", "regdb")


def _guess(root: Path) -> Layout | None:
    if (root / "exp" / "test_id.txt").is_file() or any((root / f"cam{c}").is_dir() for c in range(1, 7)):
        return "sysu"
    if (root / "idx").is_dir():
        return "regdb"
    return None


def detect_layout(root: str | os.PathLike[str]) -> Layout:
    """ "sysu" or "regdb"; VireidError for a missing path or an unrecognised folder."""
    path = Path(root)
    if not path.exists():
        raise VireidError(f"dataset path {path} does not exist")
    if not path.is_dir():
        raise VireidError(f"dataset path {path} is not a directory")
    layout = _guess(path)
    if layout is not None:
        return layout
    hint = ""
    try:
        children = sorted(child for child in path.iterdir() if child.is_dir())
    except OSError:
        children = []
    for child in children:
        if _guess(child) is not None:
            hint = f"; did you mean {child}?"
            break
    raise VireidError(
        f"{path} is neither a SYSU-MM01 tree (expected cam1/ .. cam6/ and exp/train_id.txt, exp/val_id.txt, "
        "exp/test_id.txt) nor a RegDB tree (expected Visible/, Thermal/ and idx/train_visible_1.txt .. "
        f"idx/test_thermal_10.txt){hint}"
    )


_SYSU = re.compile(r"(?:^|/)cam([1-6])/(\d{4})/[^/]+$")
_REGDB = re.compile(r"(?:^|/)(Visible|Thermal)/(\d+)/[^/]+$")


def identity_of(path: str | Path) -> int | None:
    """The identity encoded in a SYSU-MM01 or RegDB path, or None."""
    text = Path(path).as_posix()
    for pattern in (_SYSU, _REGDB):
        match = pattern.search(text)
        if match:
            return int(match.group(2))
    return None
