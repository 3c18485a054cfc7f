"""The gate judges every evaluation image by default; a smaller gate and the search's pool always hold the extremes.

int8 breaks on classes of images (overexposed infrared frames on the demo) that a small random draw misses, so a
draw must provably contain the brightest, darkest and most saturated images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vireid.eval.splits import evaluation_split
from vireid_export.images import gather_images
from vireid_export.selection import extremes, image_stats, stratified


def _batch(levels: list[float], saturated: int | None = None) -> np.ndarray:
    """Grey images of the given levels; image `saturated` gets a pure red half."""
    batch = np.stack([np.full((3, 8, 4), level, dtype=np.float32) for level in levels])
    if saturated is not None:
        batch[saturated, 1:, :4] = 0.0
    return batch


def test_a_stratified_draw_holds_the_extremes_and_spans_the_range() -> None:
    levels = list(np.random.default_rng(0).uniform(0.3, 0.6, 200))
    levels[17], levels[123] = 0.98, 0.02  # one overexposed, one nearly black
    stats = image_stats(_batch(levels, saturated=55))
    chosen = stratified(stats, 12)
    assert len(chosen) == 12 and len(set(chosen.tolist())) == 12
    assert {17, 123, 55} <= set(chosen.tolist())
    assert extremes(stats)[:3] == [17, 123, 55]
    picked = np.sort(stats.brightness[chosen])
    quartiles = np.quantile(stats.brightness, [0.25, 0.5, 0.75])
    assert all((picked < q).any() and (picked > q).any() for q in quartiles), "spread over the whole range"
    assert np.array_equal(stratified(stats, 12), chosen), "deterministic for a seed"
    assert np.array_equal(stratified(stats, 500), np.arange(200)), "asking for more than there is takes all"


def test_the_gate_judges_every_evaluation_image_by_default(synthetic_sysu: Path) -> None:
    images = gather_images(
        synthetic_sysu, "infrared", height=96, width=48, gate=None, screen=40, pool=16, calibration=8
    )
    every = evaluation_split(synthetic_sysu, 1).images("infrared")
    assert len(images.parity) == len(every)
    assert images.parity_selection == f"all {len(every)} evaluation images"
    assert len(images.training) == 40 and len(images.pool_rows) == 16 and images.calibration_count == 8
    assert set(images.calibration_rows.tolist()) <= set(images.pool_rows.tolist())


def test_gate_images_draws_a_stratified_sample_with_the_brightest_and_darkest(synthetic_sysu: Path) -> None:
    every = gather_images(synthetic_sysu, "visible", height=96, width=48, gate=None, screen=0, pool=0, calibration=0)
    some = gather_images(synthetic_sysu, "visible", height=96, width=48, gate=10, screen=0, pool=0, calibration=0)
    assert len(some.parity) == 10 and "stratified by brightness and saturation" in some.parity_selection
    means = every.parity.mean(axis=(1, 2, 3))
    drawn = some.parity.mean(axis=(1, 2, 3))
    assert np.isclose(drawn.max(), means.max()) and np.isclose(drawn.min(), means.min())
    saturation = (every.parity.max(axis=1) - every.parity.min(axis=1)).mean(axis=(1, 2))
    drawn_saturation = (some.parity.max(axis=1) - some.parity.min(axis=1)).mean(axis=(1, 2))
    assert np.isclose(drawn_saturation.max(), saturation.max())


def test_the_search_pool_holds_the_brightest_screened_training_image(synthetic_sysu: Path) -> None:
    images = gather_images(synthetic_sysu, "infrared", height=96, width=48, gate=8, screen=64, pool=12, calibration=6)
    brightness = images.training.mean(axis=(1, 2, 3))
    assert int(np.argmax(brightness)) in images.pool_rows.tolist()
    assert int(np.argmax(brightness)) in images.calibration_rows.tolist(), "the fp16 search sees the brightest image"
