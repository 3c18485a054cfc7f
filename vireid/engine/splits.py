"""Which images train the model and which select it (docs/architecture.md, "Training", model selection).

By default a few training identities are held out as a validation set and never trained on; the best
checkpoint is the one with the highest validation Rank-1 (mAP breaks ties). The baseline code selects on the
test split instead; that is allowed only with `train.select_on = "test"`, which the run's config records, and
then "the test split" is `vireid.eval.splits.evaluation_split`, the same images export and bench judge on.
`"last"` trains on every training identity and keeps the final weights.

Validation mirrors the test protocol of the dataset: SYSU-MM01 uses infrared queries against a single-shot
visible gallery (one image per identity and visible camera, drawn with a fixed seed) under the "sysu"
protocol; RegDB uses visible queries against thermal images under the "regdb" protocol.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from vireid.config import DataConfig, TrainConfig
from vireid.data.regdb import RegDB
from vireid.data.sample import Sample
from vireid.data.sysu import INFRARED_CAMERAS, SYSUMM01, VISIBLE_CAMERAS
from vireid.errors import VireidError
from vireid.eval.splits import evaluation_split


@dataclass(frozen=True)
class TrainingSplit:
    train: list[Sample]
    protocol: str
    selection: str
    """"val", "test" or "last"."""
    val_query: list[Sample] = field(default_factory=list)
    val_gallery: list[Sample] = field(default_factory=list)
    val_ids: list[int] = field(default_factory=list)

    @property
    def visible(self) -> list[Sample]:
        return [s for s in self.train if s.modality == "visible"]

    @property
    def infrared(self) -> list[Sample]:
        return [s for s in self.train if s.modality == "infrared"]


def held_out_ids(ids: list[int], count: int, seed: int) -> list[int]:
    if count >= len(ids) - 1:
        raise VireidError(
            f"train.val_ids = {count} would leave {len(ids) - count} training identities; lower it, "
            'or use train.select_on = "last"'
        )
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(ids, count, replace=False))


def single_shot_gallery(data: SYSUMM01, ids: list[int], seed: int = 0) -> list[Sample]:
    """One visible image per (identity, visible camera), drawn like the test galleries."""
    rng = random.Random(seed)
    gallery = []
    for pid in ids:
        for camid in VISIBLE_CAMERAS:
            files = data.files(camid, pid)
            if files:
                gallery.append(Sample(rng.choice(files), pid, camid, "visible"))
    return gallery


def training_split(layout: str, data_cfg: DataConfig, train_cfg: TrainConfig) -> TrainingSplit:
    selection = train_cfg.select_on
    if layout == "sysu":
        sysu = SYSUMM01(data_cfg.root)
        train = sysu.train_samples()
        if selection == "test":
            task = evaluation_split(data_cfg.root).tasks[0]
            return TrainingSplit(train, "sysu", selection, task.query, task.gallery)
        if selection == "last":
            return TrainingSplit(train, "sysu", selection)
        val_ids = held_out_ids(sysu.train_ids(), train_cfg.val_ids, train_cfg.seed)
        kept = set(val_ids)
        return TrainingSplit(
            [s for s in train if s.pid not in kept],
            "sysu",
            selection,
            sysu.samples_of(val_ids, INFRARED_CAMERAS),
            single_shot_gallery(sysu, val_ids),
            val_ids,
        )
    regdb = RegDB(data_cfg.root, data_cfg.trial)
    train = regdb.train_samples()
    if selection == "test":
        task = evaluation_split(data_cfg.root, data_cfg.trial).tasks[0]  # visible-to-thermal
        return TrainingSplit(train, "regdb", selection, task.query, task.gallery)
    if selection == "last":
        return TrainingSplit(train, "regdb", selection)
    val_ids = held_out_ids(sorted({s.pid for s in train}), train_cfg.val_ids, train_cfg.seed)
    kept = set(val_ids)
    return TrainingSplit(
        [s for s in train if s.pid not in kept],
        "regdb",
        selection,
        [s for s in regdb.train_visible() if s.pid in kept],
        [s for s in regdb.train_thermal() if s.pid in kept],
        val_ids,
    )
