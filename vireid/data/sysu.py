"""SYSU-MM01 reader: training samples, the infrared query and the seeded visible gallery.

The real layout (Wu et al., ICCV 2017) is::

    root/cam1/0001/0001.jpg ...     cameras 1, 2 (indoor) and 4, 5 (outdoor) are visible (RGB)
    root/cam3/0001/0001.jpg ...     cameras 3 (indoor) and 6 (outdoor) are near-infrared
    root/exp/train_id.txt           one line of comma-separated ids, e.g. ``1,2,4,5,7``
    root/exp/val_id.txt             (train = train_id + val_id: 395 ids)
    root/exp/test_id.txt            (96 ids)

Not every identity appears in every camera. The evaluation protocol that published numbers use (the
baseline code of Ye et al. and its descendants) takes every infrared image of the test ids as the query, and
draws the gallery per trial: `random.seed(trial)`, then for each test id in sorted order and each visible
camera that has a folder for it, `random.choice` over the sorted file paths (single-shot) or `random.sample` of
10 (multi-shot). `gallery()` reproduces that draw exactly, so trial t here is trial t there.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from pathlib import Path

from vireid.data.sample import Modality, Sample, is_image_name
from vireid.errors import VireidError

VISIBLE_CAMERAS = (1, 2, 4, 5)
INFRARED_CAMERAS = (3, 6)
CAMERAS = (1, 2, 3, 4, 5, 6)
GALLERY_CAMERAS = {"all": (1, 2, 4, 5), "indoor": (1, 2)}
QUERY_CAMERAS = (3, 6)
SHOTS = (1, 10)


def camera_modality(camid: int) -> Modality:
    return "infrared" if camid in INFRARED_CAMERAS else "visible"


def read_id_file(path: str | Path) -> list[int]:
    """Parse one exp/*_id.txt file: comma-separated integer ids on one line (whitespace and blank lines ignored)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VireidError(
            f"SYSU-MM01 split file {path} is missing; a SYSU-MM01 tree has exp/train_id.txt, exp/val_id.txt and "
            "exp/test_id.txt, each one line of comma-separated ids"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise VireidError(f"cannot read SYSU-MM01 split file {path}: {err}") from None
    tokens = [token.strip() for token in text.replace("\n", ",").split(",") if token.strip()]
    if not tokens:
        raise VireidError(f"SYSU-MM01 split file {path} lists no ids; it should hold comma-separated ids like 1,2,4")
    ids = []
    for token in tokens:
        try:
            ids.append(int(token))
        except ValueError:
            raise VireidError(
                f"SYSU-MM01 split file {path} holds {token!r}, which is not an integer id; fix the file"
            ) from None
    return ids


class SYSUMM01:
    """A SYSU-MM01 tree on disk. Sample paths are absolute; pids are the original ids."""

    def __init__(self, root: str | Path) -> None:
        self.root = os.path.abspath(root)
        if not os.path.isdir(self.root):
            raise VireidError(f"SYSU-MM01 root {self.root} is not a directory")
        has_exp = os.path.isdir(os.path.join(self.root, "exp"))
        has_cams = any(os.path.isdir(os.path.join(self.root, f"cam{c}")) for c in CAMERAS)
        if not (has_exp or has_cams):
            raise VireidError(
                f"{self.root} is not a SYSU-MM01 tree: expected cam1/ .. cam6/ folders and exp/train_id.txt, "
                "exp/val_id.txt, exp/test_id.txt"
            )
        self.exp_dir = os.path.join(self.root, "exp")

    def split_ids(self, split: str) -> list[int]:
        """The ids of one exp/ file, in file order: split is "train", "val" or "test"."""
        if split not in ("train", "val", "test"):
            raise VireidError(f"SYSU-MM01 split must be train, val or test, got {split!r}")
        return read_id_file(os.path.join(self.exp_dir, f"{split}_id.txt"))

    def train_ids(self) -> list[int]:
        """train_id + val_id, sorted: the 395 training identities of the standard protocol."""
        return sorted(set(self.split_ids("train")) | set(self.split_ids("val")))

    def test_ids(self) -> list[int]:
        return sorted(set(self.split_ids("test")))

    def folder(self, camid: int, pid: int) -> str:
        return os.path.join(self.root, f"cam{camid}", f"{pid:04d}")

    def files(self, camid: int, pid: int) -> list[str]:
        """Sorted image paths of one (camera, id) folder; [] when the folder does not exist.

        Paths are built and sorted as full strings, as the baseline does (`img_dir + '/' + name`).
        """
        folder = self.folder(camid, pid)
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(folder + "/" + name for name in names if is_image_name(name))

    def samples_of(self, ids: Iterable[int], cameras: Iterable[int] = CAMERAS) -> list[Sample]:
        """Every image of `ids` in `cameras`, ordered by id, then camera, then file."""
        cameras = tuple(cameras)
        return [
            Sample(path, pid, camid, camera_modality(camid))
            for pid in ids
            for camid in cameras
            for path in self.files(camid, pid)
        ]

    def train_samples(self) -> list[Sample]:
        """All images of the training ids in all six cameras, sorted by path."""
        return sorted(self.samples_of(self.train_ids()), key=lambda sample: sample.path)

    def query(self, mode: str = "all") -> list[Sample]:
        """Every infrared image (cameras 3, 6) of the test ids; the same set in "all" and "indoor" modes."""
        _check_mode(mode)
        return self.samples_of(self.test_ids(), QUERY_CAMERAS)

    def gallery(self, mode: str = "all", trial: int = 0, shots: int = 1) -> list[Sample]:
        """The visible gallery of one trial, drawn exactly as the baseline code draws it (see the module doc)."""
        _check_mode(mode)
        if shots not in SHOTS:
            raise VireidError(f"SYSU-MM01 gallery shots must be 1 (single-shot) or 10 (multi-shot), got {shots}")
        rng = random.Random(trial)  # same sequence as the baseline's random.seed(trial) + module-level calls
        gallery: list[Sample] = []
        for pid in self.test_ids():
            for camid in GALLERY_CAMERAS[mode]:
                if not os.path.isdir(self.folder(camid, pid)):
                    continue
                files = self.files(camid, pid)
                if not files:
                    continue  # the baseline would crash on an empty folder; `vireid data check` reports it
                chosen = [rng.choice(files)] if shots == 1 else rng.sample(files, min(10, len(files)))
                gallery.extend(Sample(path, pid, camid, "visible") for path in chosen)
        return gallery


def _check_mode(mode: str) -> None:
    if mode not in GALLERY_CAMERAS:
        raise VireidError(f"SYSU-MM01 search mode must be 'all' or 'indoor', got {mode!r}")
