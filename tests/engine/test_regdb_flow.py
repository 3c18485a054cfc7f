"""RegDB end to end: training on a trial's split with a held-out validation set, then one run per trial in eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.engine.test_train import TINY_TRAIN
from vireid.cli.app import app
from vireid.config import load_run_config, replace
from vireid.data.synthetic import generate
from vireid.engine.trainer import train
from vireid.eval.report import read_evaluation


@pytest.fixture(scope="module")
def synthetic_regdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regdb") / "RegDB"
    generate("regdb", root, ids=12, seed=0, images_per_camera=4, workers=2)
    return root


def test_regdb_runs_per_trial_train_and_evaluate(tmp_path: Path, synthetic_regdb: Path) -> None:
    runs = []
    for trial in (1, 2):
        overrides = (*TINY_TRAIN, "train.epochs=1", "train.select_on='val'", "train.val_ids=2", "data.workers=0")
        config = load_run_config(overrides=overrides)
        config = replace(config, data=replace(config.data, root=str(synthetic_regdb), trial=trial))
        result = train(config, tmp_path / f"run{trial}", show_progress=False)
        assert result.selection == "val" and result.best is not None and result.best.epoch == 1
        runs.append(tmp_path / f"run{trial}")
    records = [json.loads(line) for line in (runs[0] / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("val", {}).get("selection") == "val" for r in records)
    done = records[-1]  # the typed TrainResult, as metrics.jsonl keeps it
    assert done["event"] == "done" and done["selection"] == "val" and done["best"]["epoch"] == 1

    for direction in ("visible-to-thermal", "thermal-to-visible"):
        out = tmp_path / direction
        result = CliRunner().invoke(app, ["eval", *map(str, runs), "--direction", direction, "--out", str(out)])
        assert result.exit_code == 0, result.output
        report = read_evaluation(out / "eval.json")
        assert report.protocol == "regdb" and [t.trial for t in report.trials] == [1, 2]
        assert report.settings.direction == direction and report.settings.trial_ids == (1, 2)

    same_trial = CliRunner().invoke(app, ["eval", str(runs[0]), str(runs[0])])
    assert same_trial.exit_code == 1 and "different trials" in same_trial.output
