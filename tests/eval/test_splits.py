"""The one evaluation split: SYSU-MM01 over its 10 gallery trials, each image embedded once."""

from __future__ import annotations

from pathlib import Path

from vireid.data.sysu import SYSUMM01
from vireid.eval.splits import SYSU_TRIALS, evaluation_split, training_images


def test_sysu_split_is_the_ten_trial_protocol_with_each_image_once(synthetic_sysu: Path) -> None:
    split = evaluation_split(synthetic_sysu)
    sysu = SYSUMM01(synthetic_sysu)
    assert len(split.tasks) == SYSU_TRIALS and len({task.family for task in split.tasks}) == 1
    for trial, task in enumerate(split.tasks):
        assert task.gallery == sysu.gallery("all", trial, 1) and task.query == sysu.query("all")
    assert len(split.visible) == len(set(split.visible)) == len({s for t in split.tasks for s in t.gallery})
    assert len({tuple(t.gallery) for t in split.tasks}) > 1, "the trials draw different galleries"
    training = {s.pid for s in training_images(synthetic_sysu, "visible")}
    assert not training & {s.pid for s in (*split.visible, *split.infrared)}, "evaluation ids are never trained on"
