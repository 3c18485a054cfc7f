"""`vireid data check`: prove a dataset is complete and decodable before hours of training depend on it.

Structure is checked first, then every image is decoded in full (Pillow's lazy `open` alone would miss a
truncated JPEG). The first defect found is raised as one `VireidError` that names the file, line or id and
says what to do:

- SYSU-MM01: exp/train_id.txt, val_id.txt, test_id.txt present, non-empty, integers, disjoint; every listed id
  has images, visible ones (cam1, 2, 4, 5) and infrared ones (cam3, 6).
- RegDB: all 40 idx files of the 10 trials present and well formed; every line points to an existing file; in
  each trial and split every label has both visible and thermal images; no image is in train and test of a
  trial.

A clean dataset yields a `DatasetReport` of counts per split, camera and modality.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from vireid.data.images import DECODE_ERRORS
from vireid.data.layout import Layout, detect_layout
from vireid.data.regdb import IDX_KINDS, TRIALS, idx_path, read_idx_lines
from vireid.data.sysu import CAMERAS, INFRARED_CAMERAS, SYSUMM01, VISIBLE_CAMERAS
from vireid.errors import VireidError


@dataclass(frozen=True)
class SplitStats:
    """Counts of one split (SYSU-MM01 train / val / test, or one RegDB trial's train / test)."""

    split: str
    ids: int
    per_camera: dict[int, int]
    per_modality: dict[str, int]
    """"visible" and "infrared" image counts."""

    @property
    def images(self) -> int:
        return sum(self.per_modality.values())


@dataclass(frozen=True)
class DatasetReport:
    """What `check_dataset` found in a clean dataset."""

    layout: Layout
    root: str
    splits: list[SplitStats]
    images_decoded: int
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        """A plain-text table: one row per split."""
        sysu = self.layout == "sysu"
        header = ["split", "ids", "images", "visible", "infrared" if sysu else "thermal"]
        cameras = sorted({camid for split in self.splits for camid in split.per_camera}) if sysu else []
        header += [f"cam{camid}" for camid in cameras]
        rows = [header] + [
            [s.split, s.ids, s.images, s.per_modality.get("visible", 0), s.per_modality.get("infrared", 0)]
            + [s.per_camera.get(camid, 0) for camid in cameras]
            for s in self.splits
        ]
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
        lines = [f"{'SYSU-MM01' if sysu else 'RegDB'} at {self.root}"]
        for row in rows:
            cells = [str(row[0]).ljust(widths[0])] + [str(v).rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
            lines.append("  ".join(cells))
        return "\n".join(lines + self.notes + [f"{self.images_decoded} images decoded"])


def _decode(path: str) -> str | None:
    """None if `path` decodes in full, else the reason it does not."""
    try:
        with Image.open(path) as img:
            img.load()
    except DECODE_ERRORS as err:
        return str(err) or type(err).__name__
    return None


def decode_all(paths: Iterable[str], progress: bool = False) -> int:
    """Decode every image (threads: Pillow releases the GIL while decoding); raise on the first bad one."""
    ordered = sorted(set(paths))
    failures: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=min(8, 2 * (os.cpu_count() or 1))) as pool:
        results: Iterable[str | None] = pool.map(_decode, ordered, chunksize=64)
        if progress and ordered:
            from rich.console import Console
            from rich.progress import track

            results = track(
                results, "decoding images", total=len(ordered), console=Console(stderr=True), transient=True
            )
        for path, error in zip(ordered, results, strict=True):
            if error is not None:
                failures[path] = error
    if failures:
        first = min(failures)
        more = f" (and {len(failures) - 1} more bad images)" if len(failures) > 1 else ""
        raise VireidError(
            f"image {first} is truncated, empty or not an image ({failures[first]}){more}; "
            "re-extract it from the dataset archive or delete it"
        )
    return len(ordered)


def _check_sysu(root: str, verify_images: bool, progress: bool) -> DatasetReport:
    dataset = SYSUMM01(root)
    split_ids = {split: sorted(set(dataset.split_ids(split))) for split in ("train", "val", "test")}
    seen: dict[int, str] = {}
    for split, ids in split_ids.items():
        for pid in ids:
            if pid in seen:
                raise VireidError(
                    f"SYSU-MM01 id {pid} is in both exp/{seen[pid]}_id.txt and exp/{split}_id.txt; splits must be "
                    "disjoint, remove it from one of them"
                )
            seen[pid] = split
    stats, paths = [], []
    for split, ids in split_ids.items():
        per_camera: dict[int, int] = defaultdict(int)
        for pid in ids:
            files = {camid: dataset.files(camid, pid) for camid in CAMERAS}
            _require_both_modalities(pid, split, files)
            for camid, names in files.items():
                per_camera[camid] += len(names)
                paths.extend(names)
        per_modality = {
            "visible": sum(per_camera[c] for c in VISIBLE_CAMERAS),
            "infrared": sum(per_camera[c] for c in INFRARED_CAMERAS),
        }
        stats.append(SplitStats(split, len(ids), dict(per_camera), per_modality))
    decoded = decode_all(paths, progress) if verify_images else 0
    query = len(dataset.query("all"))
    notes = [
        f"query: {query} infrared images of the test ids; single-shot gallery (trial 0): "
        f"{len(dataset.gallery('all'))} (all), {len(dataset.gallery('indoor'))} (indoor)"
    ]
    return DatasetReport("sysu", dataset.root, stats, decoded, notes)


def _require_both_modalities(pid: int, split: str, files: dict[int, list[str]]) -> None:
    where = f"SYSU-MM01 id {pid} (exp/{split}_id.txt)"
    fix = f"restore its images or remove it from exp/{split}_id.txt"
    folders = lambda cams: ", ".join(f"cam{c}/{pid:04d}" for c in cams)  # noqa: E731
    if not any(files.values()):
        raise VireidError(f"{where} has no images at all: {folders(CAMERAS)} are missing or empty; {fix}")
    if not any(files[c] for c in VISIBLE_CAMERAS):
        raise VireidError(f"{where} has no visible images: {folders(VISIBLE_CAMERAS)} are missing or empty; {fix}")
    if not any(files[c] for c in INFRARED_CAMERAS):
        raise VireidError(f"{where} has no infrared images: {folders(INFRARED_CAMERAS)} are missing or empty; {fix}")


def _check_regdb(root: str, verify_images: bool, progress: bool) -> DatasetReport:
    root = os.path.abspath(root)
    stats, paths = [], set()
    for trial in TRIALS:
        split_paths: dict[str, set[str]] = {}
        for split in ("train", "test"):
            labels: dict[str, set[int]] = {}
            images: dict[str, int] = {}
            split_paths[split] = set()
            for modality in ("visible", "thermal"):
                kind = f"{split}_{modality}"
                entries = read_idx_lines(root, kind, trial)
                for number, relative, _ in entries:
                    path = os.path.join(root, relative)
                    if not os.path.isfile(path):
                        raise VireidError(
                            f"{idx_path(root, kind, trial)}:{number} points to {relative}, which does not exist under "
                            f"{root}; restore the image or fix the idx file"
                        )
                    split_paths[split].add(path)
                labels[modality] = {label for _, _, label in entries}
                images[modality] = len(entries)
            _require_paired_labels(root, trial, split, labels)
            per_modality = {"visible": images["visible"], "infrared": images["thermal"]}
            per_camera = {1: images["visible"], 2: images["thermal"]}
            stats.append(SplitStats(f"trial {trial} {split}", len(labels["visible"]), per_camera, per_modality))
        shared = sorted(split_paths["train"] & split_paths["test"])
        if shared:
            raise VireidError(
                f"RegDB trial {trial}: {shared[0]} is listed in both the train and the test idx files; a trial's "
                "splits must be disjoint"
            )
        paths |= split_paths["train"] | split_paths["test"]
    decoded = decode_all(paths, progress) if verify_images else 0
    return DatasetReport("regdb", root, stats, decoded, [f"{len(TRIALS)} trials x {len(IDX_KINDS)} idx files"])


def _require_paired_labels(root: str, trial: int, split: str, labels: dict[str, set[int]]) -> None:
    for have, lack in (("visible", "thermal"), ("thermal", "visible")):
        missing = sorted(labels[have] - labels[lack])
        if missing:
            have_file, lack_file = idx_path(root, f"{split}_{have}", trial), idx_path(root, f"{split}_{lack}", trial)
            raise VireidError(
                f"RegDB trial {trial}: label {missing[0]} has {have} images in {have_file} but no {lack} images in "
                f"{lack_file}; every identity needs both"
            )


def check_dataset(root: str | Path, *, verify_images: bool = True, progress: bool = False) -> DatasetReport:
    """Validate the dataset at `root` (layout detected) and count it; VireidError on the first defect."""
    layout = detect_layout(root)
    if layout == "sysu":
        return _check_sysu(os.fspath(root), verify_images, progress)
    return _check_regdb(os.fspath(root), verify_images, progress)
