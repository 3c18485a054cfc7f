"""The one definition of "the evaluation split" and "the training split" of a dataset, per modality.

Three places need to know which images a deployed model is judged on: the export's parity gate, the bench's
parity, and training when it selects on the test split. They all call `evaluation_split`, so they agree:
- SYSU-MM01: every infrared image of the test identities (cameras 3 and 6) against the all-search single-shot
  gallery (visible, cameras 1, 2, 4, 5) of each of the protocol's 10 gallery trials, under the "sysu"
  protocol; retrieval figures are the mean over the trials, as the paper reports them. One trial alone is too
  coarse to judge a deployed graph by: on a 40-identity generated tree its 124 queries make one flipped
  Rank-1 0.8 points, above the bench's 0.5-point bar by itself;
- RegDB: the test split of one trial, in both directions (visible-to-thermal and thermal-to-visible), under
  the "regdb" protocol.
`training_images` is the other side of the line: int8 calibration and precision searches draw from it only,
so that nothing fitted at export time has seen an image it is later judged on (test identities are disjoint
from training identities in both datasets). See docs/architecture.md, "Images for export and bench".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vireid.data.layout import detect_layout
from vireid.data.regdb import RegDB
from vireid.data.sample import Modality, Sample
from vireid.data.sysu import SYSUMM01

SYSU_TRIALS = 10
"""SYSU-MM01's evaluation protocol: 10 random single-shot gallery draws (`vireid eval` uses the same)."""


@dataclass(frozen=True)
class RetrievalTask:
    """One query set against one gallery, scored under a protocol."""

    name: str
    protocol: str
    query: list[Sample]
    gallery: list[Sample]
    group: str = ""
    """Tasks sharing a group are trials of one protocol and are reported as their mean; "" is a group alone."""

    @property
    def family(self) -> str:
        return self.group or self.name


@dataclass(frozen=True)
class EvaluationSplit:
    """The retrieval tasks of a dataset's evaluation split and the images each branch must embed (each once)."""

    tasks: list[RetrievalTask]
    visible: list[Sample]
    infrared: list[Sample]
    description: str

    def images(self, modality: Modality) -> list[Sample]:
        return self.visible if modality == "visible" else self.infrared


def evaluation_split(root: str | Path, trial: int = 1) -> EvaluationSplit:
    """The evaluation split of a SYSU-MM01 or RegDB tree (`trial` is RegDB's; SYSU-MM01 uses all 10 trials)."""
    if detect_layout(root) == "sysu":
        sysu = SYSUMM01(root)
        query = sysu.query("all")
        group = f"SYSU-MM01 all-search single-shot, {SYSU_TRIALS} gallery trials"
        tasks = [
            RetrievalTask(
                f"SYSU-MM01 all-search single-shot trial {t}", "sysu", query, sysu.gallery("all", t, 1), group
            )
            for t in range(SYSU_TRIALS)
        ]
        gallery = list(dict.fromkeys(s for task in tasks for s in task.gallery))  # each image embedded once
        return EvaluationSplit(tasks, gallery, query, group)
    regdb = RegDB(root, trial)
    visible, thermal = regdb.test_visible(), regdb.test_thermal()
    tasks = [
        RetrievalTask(f"RegDB trial {trial} visible-to-thermal", "regdb", visible, thermal),
        RetrievalTask(f"RegDB trial {trial} thermal-to-visible", "regdb", thermal, visible),
    ]
    return EvaluationSplit(tasks, visible, thermal, f"RegDB trial {trial}, both directions")


def training_images(root: str | Path, modality: Modality, trial: int = 1) -> list[Sample]:
    """Every training-split image of one modality (SYSU-MM01 train + val ids; RegDB's trial training file)."""
    if detect_layout(root) == "sysu":
        return [s for s in SYSUMM01(root).train_samples() if s.modality == modality]
    regdb = RegDB(root, trial)
    return regdb.train_visible() if modality == "visible" else regdb.train_thermal()
