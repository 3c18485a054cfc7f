"""Run directory round trip and its failure modes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.helpers import tiny_model_config
from vireid.config import RunConfig
from vireid.errors import VireidError
from vireid.io.atomic import atomic_path, atomic_write_text
from vireid.io.rundir import BEST_WEIGHTS_FILE, WEIGHTS_FILE, chosen_weights, load_config, load_run, save_run
from vireid.models import build_model


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    config = RunConfig(model=tiny_model_config(attention="msam"))
    model = build_model(config.model)
    with torch.no_grad():  # make BN statistics non-trivial so that they must round-trip too
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    save_run(tmp_path / "run", config, model)
    torch.save(model.state_dict(), tmp_path / "reference.pt")
    return tmp_path / "run"


def test_round_trip_gives_identical_outputs(run_dir: Path) -> None:
    config, model = load_run(run_dir)
    assert config.model == tiny_model_config(attention="msam")
    reference = build_model(config.model).eval()
    reference.load_state_dict(torch.load(run_dir.parent / "reference.pt", weights_only=True))
    x = torch.rand(2, 3, 96, 48)
    with torch.no_grad():
        torch.testing.assert_close(model.branch("infrared")(x), reference.branch("infrared")(x), rtol=0, atol=0)


def test_best_falls_back_to_final_and_says_so(run_dir: Path) -> None:
    assert chosen_weights(run_dir, "best") == ("final", run_dir / WEIGHTS_FILE), "no best epoch was kept"
    (run_dir / BEST_WEIGHTS_FILE).write_bytes((run_dir / WEIGHTS_FILE).read_bytes())
    assert chosen_weights(run_dir, "best") == ("best", run_dir / BEST_WEIGHTS_FILE)
    assert chosen_weights(run_dir, "final") == ("final", run_dir / WEIGHTS_FILE)


def test_truncated_weights_are_a_clear_error(run_dir: Path) -> None:
    path = run_dir / WEIGHTS_FILE
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VireidError, match="corrupt or truncated"):
        load_run(run_dir)


def test_missing_pieces_are_clear_errors(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(VireidError, match="does not exist"):
        load_run(tmp_path / "nowhere")
    (run_dir / WEIGHTS_FILE).unlink()
    with pytest.raises(VireidError, match="is missing"):
        load_run(run_dir)
    (run_dir / "config.toml").unlink()
    with pytest.raises(VireidError, match=r"config\.toml is missing"):
        load_config(run_dir)


def test_config_weights_mismatch_is_a_clear_error(run_dir: Path) -> None:
    text = (run_dir / "config.toml").read_text()
    (run_dir / "config.toml").write_text(text.replace('attention = "msam"', 'attention = "none"'))
    with pytest.raises(VireidError, match=r"does not match the model in config\.toml"):
        load_run(run_dir)
    (run_dir / "config.toml").write_text(text.replace("part_dim = 256", "part_dim = 128"))
    with pytest.raises(VireidError, match="has shape"):
        load_run(run_dir)


def test_malformed_config_is_a_clear_error(run_dir: Path) -> None:
    (run_dir / "config.toml").write_text("[model\nbackbone = ")
    with pytest.raises(VireidError, match="malformed TOML"):
        load_config(run_dir)


def test_atomic_write_leaves_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.txt"]
