"""Real images for the parity gate and the int8 calibration, per modality.

From a dataset (SYSU-MM01 or RegDB layout): parity images come from the evaluation split (the images the
deployed model will be judged on) and calibration images from the training split, drawn with a fixed seed.
From a plain folder of images: the same files serve both modalities (the infrared branch sees them as grey),
split between parity and calibration. Images are preprocessed exactly as the runtime does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vireid.data.images import load_image
from vireid.data.layout import detect_layout
from vireid.data.regdb import RegDB
from vireid.data.sample import Modality, Sample, image_files
from vireid.data.sysu import SYSUMM01
from vireid.errors import VireidError
from vireid_runtime.preprocess import preprocess


@dataclass(frozen=True)
class ModalityImages:
    parity: np.ndarray
    calibration: np.ndarray
    source: str


def _pick(samples: list[Sample], count: int, seed: int) -> list[Sample]:
    if not samples:
        return []
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(samples), min(count, len(samples)), replace=False)
    return [samples[i] for i in sorted(chosen)]


def _dataset_samples(root: Path, modality: Modality, trial: int) -> tuple[list[Sample], list[Sample], str]:
    layout = detect_layout(root)
    if layout == "sysu":
        sysu = SYSUMM01(root)
        evaluation = sysu.query("all") if modality == "infrared" else sysu.gallery("all", 0, 10)
        train = [s for s in sysu.train_samples() if s.modality == modality]
        return evaluation, train, f"SYSU-MM01 {root} (test split for parity, train split for calibration)"
    regdb = RegDB(root, trial)
    evaluation = regdb.test_thermal() if modality == "infrared" else regdb.test_visible()
    train = regdb.train_thermal() if modality == "infrared" else regdb.train_visible()
    return evaluation, train, f"RegDB {root} trial {trial} (test split for parity, train split for calibration)"


def _folder_samples(root: Path, modality: Modality) -> list[Sample]:
    return [Sample(path, -1, -1, modality) for path in image_files(root)]


def _batch(samples: list[Sample], height: int, width: int) -> np.ndarray:
    if not samples:
        return np.zeros((0, 3, height, width), dtype=np.float32)
    images = [load_image(s.path, s.modality) for s in samples]
    return preprocess(images, height, width, infrared=samples[0].modality == "infrared")


def gather_images(
    root: str | Path,
    modality: Modality,
    *,
    height: int,
    width: int,
    parity: int,
    calibration: int,
    trial: int = 1,
    seed: int = 0,
) -> ModalityImages:
    """Preprocessed parity and calibration batches (float32 N x 3 x H x W) for one modality."""
    root = Path(root)
    if not root.exists():
        raise VireidError(f"image source {root} does not exist; pass --calib-data with a dataset or image folder")
    try:
        evaluation, train, source = _dataset_samples(root, modality, trial)
    except VireidError:
        if not root.is_dir():
            raise
        everything = _folder_samples(root, modality)
        if not everything:
            raise VireidError(f"{root} is neither a SYSU-MM01/RegDB dataset nor a folder of images") from None
        picked = _pick(everything, parity + calibration, seed)
        evaluation, train = picked[:parity], picked[parity:] or picked
        source = f"image folder {root}"
    return ModalityImages(
        parity=_batch(_pick(evaluation, parity, seed), height, width),
        calibration=_batch(_pick(train, calibration, seed + 1), height, width),
        source=source,
    )
