"""`vireid train`: determinism, exact resume after SIGKILL, DDP, config rejection, and learning."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from tests.helpers import TINY_HEIGHT, TINY_WIDTH
from vireid.cli.app import app
from vireid.config import load_run_config, replace
from vireid.engine.trainer import train

TINY_TRAIN = (
    "model.backbone='resnet18'",
    f"model.height={TINY_HEIGHT}",
    f"model.width={TINY_WIDTH}",
    "model.part_dim=32",
    "train.ids_per_batch=4",
    "train.images_per_id=2",
    "train.batches_per_epoch=3",
    "train.warmup_epochs=1",
    "train.milestones=[2]",
    "train.lr=0.01",
    "train.select_on='last'",
    "train.log_every=1",
)


def _tiny_toml(path: Path, data: Path, epochs: int, workers: int) -> Path:
    lines = ["[model]", "backbone = 'resnet18'", f"height = {TINY_HEIGHT}", f"width = {TINY_WIDTH}", "part_dim = 32"]
    lines += ["[train]", f"epochs = {epochs}"] + [
        s.split(".", 1)[1].replace("=", " = ", 1) for s in TINY_TRAIN if s.startswith("train.")
    ]
    lines += ["[data]", f"root = '{data}'", f"workers = {workers}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _weights(run: Path) -> dict:
    return load_file(run / "model.safetensors")


def _assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].equal(b[key]), f"{key} differs"


def test_two_runs_with_the_same_seed_give_identical_weights(tmp_path: Path, synthetic_sysu: Path) -> None:
    config = load_run_config(overrides=(*TINY_TRAIN, "train.epochs=1", "data.workers=0"))
    config = replace(config, data=replace(config.data, root=str(synthetic_sysu)))
    train(config, tmp_path / "a", show_progress=False)
    train(config, tmp_path / "b", show_progress=False)
    _assert_identical(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    other = replace(config, train=replace(config.train, seed=1))
    train(other, tmp_path / "c", show_progress=False)
    assert not _weights(tmp_path / "a")["head.reductions.0.0.weight"].equal(
        _weights(tmp_path / "c")["head.reductions.0.0.weight"]
    )


def _vireid(*args: str) -> list[str]:
    return [sys.executable, "-m", "vireid", *args]


def test_sigkill_during_an_epoch_then_resume_is_bit_identical(tmp_path: Path, synthetic_sysu: Path) -> None:
    config = _tiny_toml(tmp_path / "tiny.toml", synthetic_sysu, epochs=3, workers=1)
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    subprocess.run(_vireid("train", "--config", str(config), "--out", str(reference)), check=True, timeout=600)

    process = subprocess.Popen(_vireid("train", "--config", str(config), "--out", str(killed)))
    metrics = killed / "metrics.jsonl"
    deadline = time.time() + 600
    try:
        while time.time() < deadline:  # kill as soon as epoch 2 has taken a step
            lines = metrics.read_text().splitlines() if metrics.exists() else []
            if any(json.loads(line).get("epoch") == 2 and json.loads(line)["event"] == "step" for line in lines):
                break
            assert process.poll() is None, "training ended before it could be killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    state_lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert max(r["epoch"] for r in state_lines if r["event"] == "epoch") == 1  # killed inside epoch 2

    subprocess.run(_vireid("train", "--resume", str(killed)), check=True, timeout=600)
    _assert_identical(_weights(reference), _weights(killed))
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2, 3]  # the half epoch was dropped
    again = CliRunner().invoke(app, ["train", "--resume", str(killed)])  # in process: no second torch start-up
    assert again.exit_code == 1 and "already finished" in again.output


def test_ddp_two_cpu_processes_train_and_rank0_writes(tmp_path: Path, synthetic_sysu: Path) -> None:
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    assert torchrun, "torchrun ships with torch"
    config = _tiny_toml(tmp_path / "tiny.toml", synthetic_sysu, epochs=1, workers=0)
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            torchrun,
            "--nproc-per-node",
            "2",
            "--master-port",
            "29531",
            "-m",
            "vireid",
            "train",
            "--config",
            str(config),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "x 2 processes" in result.stderr
    assert (out / "model.safetensors").is_file() and (out / "trainer_state.pt").is_file()
    epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in epochs if r["event"] == "epoch"] == [1]  # one writer, one line
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[model]\nattention = 'foo'\n", "model.attention must be one of"),
        ("[train]\nepochs = 3\nlearning_rate = 0.1\n", "unknown key train.learning_rate"),
    ],
)
def test_bad_config_is_rejected_before_anything_starts(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    result = CliRunner().invoke(
        app, ["train", "--config", str(config), "--data", str(tmp_path), "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_selecting_on_the_test_split_needs_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--set", "train.select_on='test'", "--data", str(tmp_path), "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 1 and "--select-on-test" in result.output


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--preset", "demo"], "--preset"),
        (["--set", "train.epochs=2", "--amp", "bf16", "--compile"], "--set/--amp/--compile"),
    ],
)
def test_resume_refuses_changes_to_the_run_in_one_line(tmp_path: Path, extra: list[str], named: str) -> None:
    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path / "run"), *extra])
    assert result.exit_code == 1 and f"drop {named} (only --data may be given)" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_demo_preset_learns_well_above_chance(demo_run: Path, synthetic_sysu: Path) -> None:
    """`vireid train --preset demo` (shortened, see conftest) lifts all-search Rank-1 far above chance."""
    from vireid.data.sysu import SYSUMM01
    from vireid.eval.runs import evaluate_runs

    report = evaluate_runs([demo_run], str(synthetic_sysu), mode="all", shots=1, trials=10, show_progress=False)
    chance = 1 / len(SYSUMM01(synthetic_sysu).test_ids())
    r1, _ = report.mean_std()["R1"]
    assert r1 >= 2 * chance, f"all-search R1 {r1:.3f} after demo training; chance is {chance:.3f}"
    metrics = [json.loads(line) for line in (demo_run / "metrics.jsonl").read_text().splitlines()]
    losses = [m["loss"] for m in metrics if m.get("event") == "epoch"]
    assert losses[-1] < losses[0], "the training loss did not go down"
