"""Which images to judge or fit on when not all of them: a draw stratified by image statistics, extremes included.

int8 fails on a class of images, not on an average one: on the demo, the 9 overexposed infrared images of 284
(mean pixel 173-198 of 255) fell to cosine 0.73 while every other image stayed above 0.99. A random draw of 32
rarely holds one of them, and a percentile calibration on a pool without them clips exactly their range. So a
draw here is stratified by the statistics that set activation ranges, and always holds the extremes:
- brightness: the mean of the preprocessed [0, 1] pixels (overexposed and dim frames);
- saturation: the mean spread between an image's largest and smallest channel (0 for infrared, which is grey).
The brightest, darkest, most and least saturated images come first; the rest of the draw takes one image from
each of equally populated brightness strata, so the draw spans the whole brightness range in proportion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImageStats:
    brightness: np.ndarray
    """Per image, the mean preprocessed pixel in [0, 1]."""
    saturation: np.ndarray
    """Per image, the mean of (largest channel - smallest channel) per pixel."""

    def __len__(self) -> int:
        return len(self.brightness)

    def rows(self, rows: np.ndarray) -> ImageStats:
        return ImageStats(self.brightness[rows], self.saturation[rows])


def image_stats(batch: np.ndarray) -> ImageStats:
    """Statistics of a preprocessed batch (float32 N x 3 x H x W in [0, 1])."""
    if len(batch) == 0:
        return ImageStats(np.zeros(0), np.zeros(0))
    brightness = batch.mean(axis=(1, 2, 3), dtype=np.float64)
    saturation = (batch.max(axis=1) - batch.min(axis=1)).mean(axis=(1, 2), dtype=np.float64)
    return ImageStats(brightness, saturation)


def extremes(stats: ImageStats) -> list[int]:
    """The brightest, darkest, most and least saturated images (distinct indices, in that order)."""
    if not len(stats):
        return []
    found = [
        int(np.argmax(stats.brightness)),
        int(np.argmin(stats.brightness)),
        int(np.argmax(stats.saturation)),
        int(np.argmin(stats.saturation)),
    ]
    return list(dict.fromkeys(found))


def stratified(stats: ImageStats, count: int, seed: int = 0) -> np.ndarray:
    """`count` image indices (all of them when `count` >= the number of images): the extremes, then one from each
    of `count - len(extremes)` equally populated brightness strata of the others, at random within the stratum."""
    total = len(stats)
    if count >= total:
        return np.arange(total)
    chosen = extremes(stats)[:count]
    rest = count - len(chosen)
    if rest > 0:
        taken = set(chosen)
        others = np.array([i for i in np.argsort(stats.brightness, kind="stable") if int(i) not in taken])
        rng = np.random.default_rng(seed)
        for stratum in np.array_split(others, rest):
            chosen.append(int(rng.choice(stratum)))
    return np.array(sorted(chosen), dtype=np.int64)


def describe_draw(count: int, total: int, what: str) -> str:
    """How a draw of `count` of `total` images was made, for the manifest and the log."""
    if count >= total:
        return f"all {total} {what}"
    return (
        f"{count} of {total} {what}, stratified by brightness and saturation (the brightest, darkest, most and "
        "least saturated included)"
    )
