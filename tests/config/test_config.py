"""Config loading: strict keys and values, presets, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from vireid.config import ModelConfig, RunConfig, dump_toml, load_run_config, read_toml, run_config_from_dict
from vireid.data.sysu import SYSUMM01
from vireid.errors import VireidError


def test_unknown_key_is_rejected_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[model]\nbackbone = 'resnet18'\nattn = 'mgsa'\n")
    with pytest.raises(VireidError, match=r"unknown key model\.attn"):
        load_run_config(config_file=path)


def test_bad_attention_is_rejected_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[model]\nattention = 'foo'\n")
    with pytest.raises(VireidError, match=r"model\.attention must be one of none, mgsa, msam, mgsa\+msam"):
        load_run_config(config_file=path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.share_from=7", r"model\.share_from must be in 1\.\.5"),
        ("train.epochs='ten'", r"train\.epochs must be an integer"),
        ("train.amp=3", r"train\.amp must be true or false"),
        ("model.height=40", r"model\.height is too small"),
        ("optim.lr=1", r"unknown table \[optim\]"),
        ("epochs=3", "expected table.key=value"),
    ],
)
def test_bad_overrides_are_rejected(override: str, message: str) -> None:
    with pytest.raises(VireidError, match=message):
        load_run_config(overrides=[override])


def test_layers_compose_defaults_file_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[model]\nbackbone = 'resnet18'\n[train]\nepochs = 5\nmilestones = [2, 4]\n")
    config = load_run_config(config_file=path, overrides=["train.epochs=7", "model.attention=mgsa"])
    assert config.model.backbone == "resnet18" and config.model.attention == "mgsa"
    assert config.train.epochs == 7 and config.train.milestones == (2, 4)
    assert config.model.share_from == ModelConfig().share_from


def test_toml_round_trip(tmp_path: Path) -> None:
    config = load_run_config(overrides=["model.pretrained='imagenet'", "train.lr=0.05"])
    path = tmp_path / "config.toml"
    path.write_text(dump_toml(config))
    assert run_config_from_dict(read_toml(path)) == config
    assert run_config_from_dict({}) == RunConfig()


def test_table1_presets_train_on_every_identity_and_keep_the_final_epoch(synthetic_sysu: Path) -> None:
    from vireid.config import preset_names, training_config
    from vireid.engine.splits import training_split

    table1 = [name for name in preset_names() if name.startswith(("sysu-", "regdb-"))]
    assert len(table1) == 8
    for name in table1:
        assert load_run_config(name).train.select_on == "last", name
    config = training_config("sysu-mgsa-msam", data=synthetic_sysu)
    everyone = training_split("sysu", config.data, config.train)
    assert everyone.val_ids == [] and {s.pid for s in everyone.train} == set(SYSUMM01(synthetic_sysu).train_ids())
    held = training_config("sysu-mgsa-msam", data=synthetic_sysu, val_ids=5)
    assert (held.train.select_on, held.train.val_ids) == ("val", 5)
    split = training_split("sysu", held.data, held.train)
    assert len(split.val_ids) == 5 and not {s.pid for s in split.train} & set(split.val_ids)
    with pytest.raises(VireidError, match="choose one"):
        training_config("sysu-mgsa-msam", val_ids=5, select_on_test=True)
