"""Writing a synthetic dataset in the real SYSU-MM01 or RegDB layout, so the real readers are exercised.

SYSU-MM01: `cam{1..6}/{pid:04d}/{index:04d}.jpg` (JPEG quality 90, crops of varying size around 128 x 64),
visible cameras 1, 2 (indoor) and 4, 5 (outdoor), near-infrared 3 (indoor) and 6 (outdoor); each identity
appears in most cameras and always in at least one of each modality. `exp/{train,val,test}_id.txt` split the
ids about 60 / 20 / 20 like the real 296 / 99 / 96.

RegDB: `Visible/{pid}/{female|male}_{front|back}_v_{number:05d}_{pid}.bmp` and the matching `Thermal/..._t_...`
(128 x 64), 10 images per modality per identity, taken as simultaneous pairs (same pose and framing, as the real
dual camera). `idx/{train,test}_{visible,thermal}_{1..10}.txt` split the ids half / half at random per trial,
with lines `Visible/12/male_back_v_00115_12.bmp 0`: the label is the identity's index within the file, as in the
real files.

Every image comes from generators seeded by (seed, identity, camera, image), so the same seed gives the same
bytes whatever the number of worker processes. Every file is written atomically; the split files are written
last, so an interrupted run leaves a tree that `vireid data check` rejects rather than a silently partial one.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vireid.data.layout import LAYOUTS, Layout
from vireid.data.sample import Modality
from vireid.data.synthetic.difficulty import DEFAULT_DIFFICULTY, nuisances
from vireid.data.synthetic.identity import DEFAULT_IR_COUPLING, camera_style, draw_identity
from vireid.data.synthetic.render import render_frame
from vireid.errors import VireidError
from vireid.io.atomic import atomic_path, atomic_write_text

SYSU_VISIBLE = (1, 2, 4, 5)
SYSU_INFRARED = (3, 6)
SYSU_OUTDOOR = (4, 5, 6)
REGDB_SIZE = (128, 64)
REGDB_TRIALS = range(1, 11)
# Folders a synthetic tree owns; --force removes exactly these and nothing else.
OWNED = {"sysu": ("cam1", "cam2", "cam3", "cam4", "cam5", "cam6", "exp"), "regdb": ("Visible", "Thermal", "idx")}
_GEOMETRY, _APPEARANCE, _CAMERAS, _SPLIT = 0x6E, 0xA9, 0xCC, 0x5B


@dataclass(frozen=True)
class SyntheticSummary:
    """What `generate` wrote."""

    layout: Layout
    root: Path
    ids: int
    visible: int
    infrared: int
    splits: dict[str, int]
    """Identities per split: train / val / test (SYSU-MM01) or train / test per trial (RegDB)."""
    seconds: float

    @property
    def images(self) -> int:
        return self.visible + self.infrared

    def describe(self) -> str:
        name = "SYSU-MM01" if self.layout == "sysu" else "RegDB"
        splits = " / ".join(f"{count} {split}" for split, count in self.splits.items())
        return (
            f"wrote {self.images} images of {self.ids} identities ({self.visible} visible, {self.infrared} infrared) "
            f"in the {name} layout to {self.root}; ids: {splits}; {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class _Job:
    layout: Layout
    root: str
    seed: int
    pid: int
    images_per_camera: int | None
    difficulty: float
    ir_coupling: float = DEFAULT_IR_COUPLING


def sysu_cameras(seed: int, pid: int, images_per_camera: int | None) -> dict[int, int]:
    """Camera -> number of images of identity `pid` (cameras it never passed are absent)."""
    rng = np.random.default_rng([seed, _CAMERAS, pid])
    present = {camid: bool(rng.random() < (0.8 if camid in SYSU_VISIBLE else 0.85)) for camid in range(1, 7)}
    counts = {camid: int(rng.integers(5, 13)) if images_per_camera is None else images_per_camera for camid in present}
    for group in (SYSU_VISIBLE, SYSU_INFRARED):
        if not any(present[camid] for camid in group):
            present[group[int(rng.integers(len(group)))]] = True
    return {camid: counts[camid] for camid in range(1, 7) if present[camid]}


def _render_sysu(job: _Job) -> tuple[int, int]:
    person, strengths = draw_identity(job.seed, job.pid, job.ir_coupling), nuisances(job.difficulty)
    counts = [0, 0]
    for camid, images in sysu_cameras(job.seed, job.pid, job.images_per_camera).items():
        modality: Modality = "infrared" if camid in SYSU_INFRARED else "visible"
        style = camera_style(job.seed, camid, modality, outdoor=camid in SYSU_OUTDOOR, strengths=strengths)
        folder = Path(job.root, f"cam{camid}", f"{job.pid:04d}")
        for index in range(1, images + 1):
            geometry = np.random.default_rng([job.seed, _GEOMETRY, job.pid, camid, index])
            appearance = np.random.default_rng([job.seed, _APPEARANCE, job.pid, camid, index])
            height = int(geometry.integers(112, 153))  # real SYSU-MM01 crops vary in size
            width = round(height * geometry.uniform(0.44, 0.56))
            image, _ = render_frame(person, style, geometry, appearance, height, width, strengths=strengths)
            with atomic_path(folder / f"{index:04d}.jpg") as tmp:
                image.save(tmp, format="JPEG", quality=90)
            counts[modality == "infrared"] += 1
    return counts[0], counts[1]


def _render_regdb(job: _Job) -> tuple[int, int]:
    person, strengths = draw_identity(job.seed, job.pid, job.ir_coupling), nuisances(job.difficulty)
    images = job.images_per_camera or 10
    gender = "female" if person.female else "male"
    cameras: list[tuple[str, str, int, Modality]] = [("Visible", "v", 1, "visible"), ("Thermal", "t", 2, "infrared")]
    styles = {
        camid: camera_style(job.seed, camid, modality, False, thermal=True, strengths=strengths)
        for _, _, camid, modality in cameras
    }
    for k in range(images):
        view = "front" if np.random.default_rng([job.seed, _GEOMETRY, job.pid, k]).random() < 0.5 else "back"
        number = (job.pid - 1) * images + k + 1
        for folder, letter, camid, _ in cameras:
            # One geometry generator per pair: the dual camera films both frames at the same instant.
            geometry = np.random.default_rng([job.seed, _GEOMETRY, job.pid, 0, k])
            appearance = np.random.default_rng([job.seed, _APPEARANCE, job.pid, camid, k])
            image, _ = render_frame(
                person, styles[camid], geometry, appearance, *REGDB_SIZE, view=view, strengths=strengths
            )
            name = f"{gender}_{view}_{letter}_{number:05d}_{job.pid}.bmp"
            with atomic_path(Path(job.root, folder, str(job.pid), name)) as tmp:
                image.save(tmp, format="BMP")
    return images, images


def _render(job: _Job) -> tuple[int, int]:
    return _render_sysu(job) if job.layout == "sysu" else _render_regdb(job)


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise VireidError(f"{out} exists and is not a directory; pick another --out")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise VireidError(
                f"{out} is not empty; pass --force to overwrite the dataset there, or pick an empty --out"
            )
        for name in OWNED["sysu"] + OWNED["regdb"]:
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def _run(jobs: list[_Job], workers: int, progress: Callable[[int], None] | None) -> Iterator[tuple[int, int]]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _render(job)
            if progress:
                progress(1)
        return
    # fork where the platform has it: spawn and forkserver re-import the caller's __main__, which breaks any
    # script without an `if __name__ == "__main__":` guard. The children only run numpy and Pillow code.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(min(workers, len(jobs))) as pool:
        for counts in pool.imap_unordered(_render, jobs):
            yield counts
            if progress:
                progress(1)


def _write_sysu_splits(root: Path, ids: int, seed: int) -> dict[str, int]:
    order = [int(pid) for pid in np.random.default_rng([seed, _SPLIT]).permutation(np.arange(1, ids + 1))]
    n_test = n_val = max(2, round(ids * 0.2))
    splits = {"train": order[n_test + n_val :], "val": order[n_test : n_test + n_val], "test": order[:n_test]}
    for split, members in splits.items():
        atomic_write_text(root / "exp" / f"{split}_id.txt", ",".join(str(pid) for pid in sorted(members)) + "\n")
    return {split: len(members) for split, members in splits.items()}


def _write_regdb_idx(root: Path, ids: int, seed: int) -> dict[str, int]:
    for trial in REGDB_TRIALS:
        order = [int(pid) for pid in np.random.default_rng([seed, _SPLIT, trial]).permutation(np.arange(1, ids + 1))]
        halves = {"train": order[: ids // 2], "test": order[ids // 2 :]}
        for split, members in halves.items():
            for folder, modality in (("Visible", "visible"), ("Thermal", "thermal")):
                lines = [
                    f"{folder}/{pid}/{name} {label}"
                    for label, pid in enumerate(members)
                    for name in sorted(os.listdir(root / folder / str(pid)))
                ]
                atomic_write_text(root / "idx" / f"{split}_{modality}_{trial}.txt", "\n".join(lines) + "\n")
    return {"train": ids // 2, "test": ids - ids // 2}


def generate(
    layout: Layout,
    out: str | Path,
    ids: int = 100,
    seed: int = 0,
    images_per_camera: int | None = None,
    workers: int | None = None,
    *,
    difficulty: float = DEFAULT_DIFFICULTY,
    ir_coupling: float = DEFAULT_IR_COUPLING,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SyntheticSummary:
    """Write a complete synthetic dataset to `out` (see the module doc) and say what was written.

    `images_per_camera`: SYSU-MM01 images per (identity, camera), by default 5..12 drawn per pair like the
    uneven real counts; RegDB images per identity and modality, by default 10 as in the real set.
    `difficulty` (0..1) sets how harsh the capture conditions are (see `difficulty.py`); the identities are the
    same at every difficulty.
    `ir_coupling` (0..1) sets how much a garment's infrared level follows its visible lightness
    (`identity.IrReflectance`): 1 is a near-greyscale copy, 0 shares only shape, patterns, accessories, pose
    and body across modalities.
    `progress` is called with 1 after each identity.
    """
    if layout not in LAYOUTS:
        raise VireidError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    minimum, maximum = (6, 9999) if layout == "sysu" else (4, 99999)
    if not minimum <= ids <= maximum:
        raise VireidError(
            f"--ids must be in {minimum}..{maximum} for the {layout} layout (2+ ids per split), got {ids}"
        )
    if images_per_camera is not None and images_per_camera < 1:
        raise VireidError(f"--images-per-camera must be >= 1, got {images_per_camera}")
    nuisances(difficulty)  # validates it before anything is written
    if not 0.0 <= ir_coupling <= 1.0:
        raise VireidError(f"--ir-coupling must be in 0..1, got {ir_coupling}")
    workers = min(4, os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise VireidError(f"--workers must be >= 1, got {workers}")
    root = Path(out).absolute()
    _prepare_out(root, force)
    start = time.perf_counter()
    jobs = [_Job(layout, str(root), seed, pid, images_per_camera, difficulty, ir_coupling) for pid in range(1, ids + 1)]
    visible = infrared = 0
    for n_visible, n_infrared in _run(jobs, workers, progress):
        visible += n_visible
        infrared += n_infrared
    splits = _write_sysu_splits(root, ids, seed) if layout == "sysu" else _write_regdb_idx(root, ids, seed)
    return SyntheticSummary(layout, root, ids, visible, infrared, splits, time.perf_counter() - start)
