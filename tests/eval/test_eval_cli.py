"""`vireid eval` end to end on a tiny generated dataset with a tiny untrained model, and its error cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.helpers import tiny_model_config
from vireid.cli.app import app
from vireid.config import DataConfig, RunConfig
from vireid.errors import VireidError
from vireid.eval.report import EVAL_FORMAT, read_evaluation
from vireid.io.rundir import save_run
from vireid.models import build_model


def _untrained_run(path: Path, data: Path) -> Path:
    torch.manual_seed(0)
    config = RunConfig(model=tiny_model_config(), data=DataConfig(root=str(data)))
    save_run(path, config, build_model(config.model))
    return path


def test_eval_runs_writes_eval_json_and_metrics_are_fractions(tmp_path: Path, synthetic_sysu: Path) -> None:
    run = _untrained_run(tmp_path / "run", synthetic_sysu)
    result = CliRunner().invoke(app, ["eval", str(run), "--trials", "3", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "R1" in result.output and "±" in result.output
    report = read_evaluation(tmp_path / "out" / "eval.json")
    assert report.protocol == "sysu" and report.settings.trials == 3 and len(report.trials) == 3
    assert json.loads((tmp_path / "out" / "eval.json").read_text())["format"] == EVAL_FORMAT
    for key in ("R1", "R5", "R10", "R20", "mAP", "mINP"):
        assert 0.0 <= report.mean_std()[key].mean <= 1.0
    for trial in report.trials:
        assert trial.R1 <= trial.R5 <= trial.R10 <= trial.R20
    # indoor search and multi-shot galleries run too; the default output goes into the run directory
    result = CliRunner().invoke(app, ["eval", str(run), "--mode", "indoor", "--shots", "10", "--trials", "2"])
    assert result.exit_code == 0, result.output
    assert read_evaluation(run / "eval.json").settings.mode == "indoor"
    (run / "eval.json").write_text('{"protocol": "sysu"}')
    with pytest.raises(VireidError, match="format None, not vireid-eval/1"):
        read_evaluation(run / "eval.json")


def test_eval_errors_are_one_line(tmp_path: Path, synthetic_sysu: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["eval", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    run = _untrained_run(tmp_path / "run", synthetic_sysu)
    (run / "model.safetensors").write_bytes(b"\x00" * 10)
    corrupt = runner.invoke(app, ["eval", str(run)])
    assert corrupt.exit_code == 1 and "corrupt or truncated" in corrupt.output
    good = _untrained_run(tmp_path / "good", synthetic_sysu)
    unknown = runner.invoke(app, ["eval", str(good), "--data", str(tmp_path)])
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
    bad_mode = runner.invoke(app, ["eval", str(good), "--mode", "outdoor"])
    assert bad_mode.exit_code == 1 and "all' or 'indoor" in bad_mode.output
