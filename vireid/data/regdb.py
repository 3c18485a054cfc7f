"""RegDB reader: the ten train/test trials of idx/*.txt, and the two search directions.

The real layout (Nguyen et al., Sensors 2017; the idx files come with the common VI-ReID baselines) is::

    root/Visible/{pid}/female_back_v_00001_1.bmp ...    10 visible images per identity, 412 identities
    root/Thermal/{pid}/female_back_t_00001_1.bmp ...    10 thermal images per identity
    root/idx/train_visible_{trial}.txt                  trials 1..10, each a random 206 / 206 id split
    root/idx/train_thermal_{trial}.txt
    root/idx/test_visible_{trial}.txt
    root/idx/test_thermal_{trial}.txt

Each idx line is ``relative/path label``, e.g. ``Visible/285/male_back_v_05528_285.bmp 0``: the path is relative
to the root and the label is the identity's index within that file (the visible and thermal files of one split
list the identities in the same order, so their labels agree). The label is the sample's pid. Both search
directions use the test files of the trial: visible-to-thermal queries the visible images against the thermal
gallery, thermal-to-visible swaps the roles only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from vireid.data.sample import Modality, Sample
from vireid.errors import VireidError

TRIALS = tuple(range(1, 11))
DIRECTIONS = ("visible-to-thermal", "thermal-to-visible")
Direction = Literal["visible-to-thermal", "thermal-to-visible"]
VISIBLE_CAMID = 1
THERMAL_CAMID = 2
IDX_KINDS = ("train_visible", "train_thermal", "test_visible", "test_thermal")


def idx_path(root: str | Path, kind: str, trial: int) -> str:
    """root/idx/{kind}_{trial}.txt, kind one of IDX_KINDS."""
    return os.path.join(os.fspath(root), "idx", f"{kind}_{trial}.txt")


def parse_idx_line(line: str, where: str) -> tuple[str, int] | None:
    """One idx line -> (relative path, label); None for a blank line. `where` is "file:line" for errors."""
    fields = line.split()
    if not fields:
        return None
    if len(fields) != 2:
        raise VireidError(f"{where}: expected 'relative/path label', got {line.strip()!r}; fix the idx file")
    relative, label = fields
    try:
        return relative, int(label)
    except ValueError:
        raise VireidError(f"{where}: label {label!r} is not an integer; fix the idx file") from None


def read_idx_lines(root: str | Path, kind: str, trial: int) -> list[tuple[int, str, int]]:
    """(line number, relative path, label) of one idx file; tolerant of blank lines and a trailing newline."""
    path = idx_path(root, kind, trial)
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise VireidError(
            f"RegDB idx file {path} is missing; a RegDB tree has idx/{{train,test}}_{{visible,thermal}}_{{1..10}}.txt "
            "with lines 'relative/path label'"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise VireidError(f"cannot read RegDB idx file {path}: {err}") from None
    entries = []
    for number, line in enumerate(lines, start=1):
        entry = parse_idx_line(line, f"{path}:{number}")
        if entry is not None:
            entries.append((number, *entry))
    if not entries:
        raise VireidError(f"RegDB idx file {path} lists no images; restore it from the dataset")
    return entries


def read_idx(root: str | Path, kind: str, trial: int) -> list[tuple[str, int]]:
    """The (relative path, label) entries of one idx file, in file order."""
    return [(relative, label) for _, relative, label in read_idx_lines(root, kind, trial)]


class RegDB:
    """One trial (1..10) of a RegDB tree. Sample paths are absolute; pids are the idx-file labels."""

    def __init__(self, root: str | Path, trial: int = 1) -> None:
        if trial not in TRIALS:
            raise VireidError(f"RegDB trial must be in 1..10, got {trial}")
        self.root = os.path.abspath(root)
        self.trial = trial
        if not os.path.isdir(os.path.join(self.root, "idx")):
            raise VireidError(
                f"{self.root} is not a RegDB tree: expected idx/train_visible_{trial}.txt (and the thermal and test "
                "lists) next to Visible/ and Thermal/"
            )

    def _samples(self, kind: str) -> list[Sample]:
        visible = kind.endswith("visible")
        camid = VISIBLE_CAMID if visible else THERMAL_CAMID
        modality: Modality = "visible" if visible else "infrared"
        return [
            Sample(os.path.join(self.root, relative), label, camid, modality)
            for relative, label in read_idx(self.root, kind, self.trial)
        ]

    def train_visible(self) -> list[Sample]:
        return self._samples("train_visible")

    def train_thermal(self) -> list[Sample]:
        return self._samples("train_thermal")

    def train_samples(self) -> list[Sample]:
        """The trial's training images: the visible list, then the thermal list."""
        return self.train_visible() + self.train_thermal()

    def test_visible(self) -> list[Sample]:
        return self._samples("test_visible")

    def test_thermal(self) -> list[Sample]:
        return self._samples("test_thermal")

    def query(self, direction: str) -> list[Sample]:
        """Visible test images for visible-to-thermal, thermal test images for thermal-to-visible."""
        return self.test_visible() if _check_direction(direction) == "visible-to-thermal" else self.test_thermal()

    def gallery(self, direction: str) -> list[Sample]:
        """The other modality's test images."""
        return self.test_thermal() if _check_direction(direction) == "visible-to-thermal" else self.test_visible()


def _check_direction(direction: str) -> Direction:
    if direction == "visible-to-thermal":
        return "visible-to-thermal"
    if direction == "thermal-to-visible":
        return "thermal-to-visible"
    raise VireidError(f"RegDB direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
