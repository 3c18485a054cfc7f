"""Real images for the export, per modality: the gate's images and the images the precision searches fit on.

From a dataset (SYSU-MM01 or RegDB layout), the line is the one `vireid.eval.splits` draws for everyone:
- `parity`: the gate's images: the whole evaluation split by default (what the deployed model is judged on),
  or a draw stratified by image statistics that always holds the extremes (`selection.py`);
- `training`: the screened training images (all of them, or a random draw of `screen`). They set the int8
  activation ranges, and the int8 search runs the fully quantised graph over all of them once, to find the
  images it hurts most; `pool` is a stratified draw from them that the searches must hold on, and
  `calibration` a stratified draw from the pool that the fp16 search measures on, so both see the brightest
  and darkest training images.
Test and training identities are disjoint, so nothing the searches fit has been seen by the gate.
From a plain folder of images the same files serve both modalities (the infrared branch sees them as grey) and
are split into disjoint parity and pool sets. Images are preprocessed exactly as the runtime does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vireid.data.images import load_image
from vireid.data.layout import detect_layout
from vireid.data.sample import Modality, Sample, image_files
from vireid.errors import VireidError
from vireid.eval.splits import evaluation_split, training_images
from vireid_export.selection import describe_draw, image_stats, stratified
from vireid_runtime.preprocess import preprocess


@dataclass(frozen=True)
class ModalityImages:
    parity: np.ndarray
    """The gate's images: the whole evaluation split of the modality, or a stratified draw from it."""
    parity_selection: str
    """How many evaluation images the gate judges and how they were chosen (recorded in the manifest)."""
    training: np.ndarray
    """The screened training images: every training image of the modality, or a random draw of them."""
    pool_rows: np.ndarray
    """Rows of `training` the searches must hold on: a stratified draw, extremes included."""
    calibration_rows: np.ndarray
    """Rows of `training` the fp16 search measures on: a stratified draw from the pool. (The int8 activation
    ranges come from all of `training`.)"""
    source: str

    @property
    def pool(self) -> np.ndarray:
        return self.training[self.pool_rows]

    @property
    def calibration(self) -> np.ndarray:
        return self.training[self.calibration_rows]

    @property
    def calibration_count(self) -> int:
        return len(self.calibration_rows)


def _pick(samples: list[Sample], count: int, seed: int) -> list[Sample]:
    if not samples:
        return []
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(samples))[: min(count, len(samples))]
    return [samples[i] for i in chosen]


def _batch(samples: list[Sample], height: int, width: int) -> np.ndarray:
    if not samples:
        return np.zeros((0, 3, height, width), dtype=np.float32)
    images = [load_image(s.path, s.modality) for s in samples]
    return preprocess(images, height, width, infrared=samples[0].modality == "infrared")


def _is_dataset(root: Path) -> bool:
    try:
        detect_layout(root)
    except VireidError:
        return False
    return True


def _gate_images(samples: list[Sample], count: int | None, height: int, width: int) -> tuple[np.ndarray, str]:
    """Every evaluation image, or `count` of them stratified by image statistics with the extremes included."""
    everything = _batch(samples, height, width)
    total = len(everything)
    if count is None or count >= total:
        return everything, describe_draw(total, total, "evaluation images")
    rows = stratified(image_stats(everything), count)
    return everything[rows], describe_draw(count, total, "evaluation images")


def gather_images(
    root: str | Path,
    modality: Modality,
    *,
    height: int,
    width: int,
    gate: int | None,
    screen: int,
    pool: int,
    calibration: int,
    trial: int = 1,
    seed: int = 0,
) -> ModalityImages:
    """Preprocessed gate images and screened training images (float32 N x 3 x H x W) for one modality.

    `gate` None judges every evaluation image. `screen` training images are loaded (0: none, for an export that
    searches nothing); the pool and the calibration images are stratified draws from them.
    """
    root = Path(root)
    if not root.exists():
        raise VireidError(f"image source {root} does not exist; pass --calib-data with a dataset or image folder")
    if _is_dataset(root):
        evaluation = evaluation_split(root, trial).images(modality)
        training = training_images(root, modality, trial)
        source = f"{root}: evaluation-split images for the gate, training-split images for calibration and searches"
    else:
        everything = [Sample(path, -1, -1, modality) for path in image_files(root)] if root.is_dir() else []
        if len(everything) < 2:
            raise VireidError(f"{root} is neither a SYSU-MM01/RegDB dataset nor a folder of at least 2 images")
        shuffled = _pick(everything, len(everything), seed)
        cut = min(gate or len(shuffled), len(shuffled) // 2)
        evaluation, training = shuffled[:cut], shuffled[cut:]
        source = f"image folder {root} (split into disjoint gate and calibration images)"
    if not evaluation or (screen and not training):
        raise VireidError(f"{root} has no {modality} images in its evaluation or training split")
    parity, selection = _gate_images(evaluation, gate, height, width)
    screened = _batch(_pick(training, screen, seed + 1), height, width)
    stats = image_stats(screened)
    pool_rows = stratified(stats, pool, seed + 2)
    calibration_rows = pool_rows[stratified(stats.rows(pool_rows), calibration, seed + 3)]
    return ModalityImages(
        parity=parity,
        parity_selection=selection,
        training=screened,
        pool_rows=pool_rows,
        calibration_rows=calibration_rows,
        source=source,
    )


def artifact_images(art_dir: Path, modality: Modality, screen: int) -> ModalityImages:
    """Every evaluation image and `screen` training images of the dataset an artifact folder was exported from,
    at its input size: what the benchmarks that probe an export's graphs run them on."""
    from vireid.io.rundir import load_config
    from vireid_runtime.manifest import read_manifest

    manifest = read_manifest(art_dir)
    root = manifest.data_root or load_config(manifest.run_dir).data.root
    size = manifest.input
    return gather_images(
        root,
        modality,
        height=size.height,
        width=size.width,
        gate=None,
        screen=screen,
        pool=min(128, screen),
        calibration=min(64, screen),
    )
