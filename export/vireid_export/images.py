"""Real images for the export, per modality: the gate's images and the images the precision searches fit on.

From a dataset (SYSU-MM01 or RegDB layout), the line is the one `vireid.eval.splits` draws for everyone:
- `parity`: the gate's images, drawn from the evaluation split (what the deployed model is judged on);
- `pool`: drawn from the training split; its first `calibration` images give the int8 activation ranges, and
  the whole pool is what the fp16 and int8 searches must hold on.
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
from vireid_runtime.preprocess import preprocess


@dataclass(frozen=True)
class ModalityImages:
    parity: np.ndarray
    pool: np.ndarray
    calibration_count: int
    source: str

    @property
    def calibration(self) -> np.ndarray:
        return self.pool[: self.calibration_count]


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


def gather_images(
    root: str | Path,
    modality: Modality,
    *,
    height: int,
    width: int,
    parity: int,
    pool: int,
    calibration: int,
    trial: int = 1,
    seed: int = 0,
) -> ModalityImages:
    """Preprocessed parity and pool batches (float32 N x 3 x H x W) for one modality."""
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
        cut = min(parity, len(shuffled) // 2)
        evaluation, training = shuffled[:cut], shuffled[cut:]
        source = f"image folder {root} (split into disjoint gate and calibration images)"
    if not evaluation or (pool and not training):
        raise VireidError(f"{root} has no {modality} images in its evaluation or training split")
    pooled = _pick(training, max(pool, calibration), seed + 1)
    return ModalityImages(
        parity=_batch(_pick(evaluation, parity, seed), height, width),
        pool=_batch(pooled, height, width),
        calibration_count=min(calibration, len(pooled)),
        source=source,
    )
