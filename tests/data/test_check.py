"""`check_dataset` and `vireid data check`: a clean tree passes; each defect is one line that names it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vireid.cli.app import app
from vireid.data.check import check_dataset
from vireid.data.synthetic import generate
from vireid.data.sysu import read_id_file
from vireid.errors import VireidError

runner = CliRunner()


@pytest.fixture(scope="module")
def clean_sysu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sysu")
    generate("sysu", root, ids=8, seed=2, images_per_camera=2, workers=1)
    return root


@pytest.fixture(scope="module")
def clean_regdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regdb")
    generate("regdb", root, ids=4, seed=2, images_per_camera=2, workers=1)
    return root


def _first_test_id(root: Path) -> int:
    return read_id_file(root / "exp" / "test_id.txt")[0]


def _missing_exp_file(root: Path) -> str:
    (root / "exp" / "val_id.txt").unlink()
    return "val_id.txt"


def _no_infrared(root: Path) -> str:
    pid = _first_test_id(root)
    for cam in (3, 6):
        shutil.rmtree(root / f"cam{cam}" / f"{pid:04d}", ignore_errors=True)
    return f"id {pid} (exp/test_id.txt) has no infrared images"


def _no_images(root: Path) -> str:
    pid = _first_test_id(root)
    for cam in range(1, 7):
        shutil.rmtree(root / f"cam{cam}" / f"{pid:04d}", ignore_errors=True)
    return f"id {pid} (exp/test_id.txt) has no images at all"


def _truncated_jpeg(root: Path) -> str:
    victim = sorted(root.glob("cam1/*/*.jpg"))[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    return str(victim)


def _empty_jpeg(root: Path) -> str:
    victim = sorted(root.glob("cam6/*/*.jpg"))[-1]
    victim.write_bytes(b"")
    return str(victim)


def _not_an_integer(root: Path) -> str:
    (root / "exp" / "train_id.txt").write_text("1,2,x3\n")
    return "'x3'"


def _empty_id_list(root: Path) -> str:
    (root / "exp" / "test_id.txt").write_text("\n")
    return "test_id.txt lists no ids"


def _idx_points_nowhere(root: Path) -> str:
    with open(root / "idx" / "train_visible_3.txt", "a") as handle:
        handle.write("Visible/999/male_back_v_09999_999.bmp 7\n")
    return "train_visible_3.txt:5 points to Visible/999/male_back_v_09999_999.bmp"


def _missing_idx_file(root: Path) -> str:
    (root / "idx" / "test_thermal_7.txt").unlink()
    return "test_thermal_7.txt is missing"


def _malformed_idx_line(root: Path) -> str:
    (root / "idx" / "test_visible_9.txt").write_text("Visible/1/x.bmp one\n")
    return "test_visible_9.txt:1"


SYSU_DEFECTS = [
    _missing_exp_file,
    _no_infrared,
    _no_images,
    _truncated_jpeg,
    _empty_jpeg,
    _not_an_integer,
    _empty_id_list,
]
REGDB_DEFECTS = [_idx_points_nowhere, _missing_idx_file, _malformed_idx_line]


def _broken_copy(clean: Path, tmp_path: Path, defect: Callable[[Path], str]) -> tuple[Path, str]:
    root = tmp_path / "data"
    shutil.copytree(clean, root)
    return root, defect(root)


def test_clean_trees_pass_with_counts(clean_sysu: Path, clean_regdb: Path) -> None:
    sysu = check_dataset(clean_sysu)
    assert sysu.layout == "sysu" and [s.split for s in sysu.splits] == ["train", "val", "test"]
    assert sysu.images_decoded == len(list(clean_sysu.rglob("*.jpg"))) == sum(s.images for s in sysu.splits)
    assert sum(s.ids for s in sysu.splits) == 8
    assert all(s.per_modality["visible"] and s.per_modality["infrared"] for s in sysu.splits)
    assert "cam6" in sysu.format() and "train" in sysu.format()
    regdb = check_dataset(clean_regdb)
    assert regdb.layout == "regdb" and len(regdb.splits) == 20
    assert regdb.images_decoded == len(list(clean_regdb.rglob("*.bmp"))) == 4 * 2 * 2
    assert all(s.ids == 2 and s.per_modality == {"visible": 4, "infrared": 4} for s in regdb.splits)


@pytest.mark.parametrize("defect", SYSU_DEFECTS, ids=lambda f: f.__name__.strip("_"))
def test_sysu_defects_are_named(clean_sysu: Path, tmp_path: Path, defect: Callable[[Path], str]) -> None:
    root, expected = _broken_copy(clean_sysu, tmp_path, defect)
    with pytest.raises(VireidError) as info:
        check_dataset(root)
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("defect", REGDB_DEFECTS, ids=lambda f: f.__name__.strip("_"))
def test_regdb_defects_are_named(clean_regdb: Path, tmp_path: Path, defect: Callable[[Path], str]) -> None:
    root, expected = _broken_copy(clean_regdb, tmp_path, defect)
    with pytest.raises(VireidError, match=expected.replace(".", r"\.")):
        check_dataset(root)


def test_unknown_layout_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(VireidError, match=r"exp/test_id\.txt.*idx/train_visible_1\.txt"):
        check_dataset(tmp_path)


def test_cli_accepts_clean_trees(clean_sysu: Path, clean_regdb: Path) -> None:
    for root in (clean_sysu, clean_regdb):
        result = runner.invoke(app, ["data", "check", str(root)])
        assert result.exit_code == 0, result.output
        assert result.output.rstrip().splitlines()[-1].startswith("ok")


@pytest.mark.parametrize(
    "defect", [_missing_exp_file, _no_infrared, _truncated_jpeg], ids=lambda f: f.__name__.strip("_")
)
def test_cli_rejects_sysu_defects(clean_sysu: Path, tmp_path: Path, defect: Callable[[Path], str]) -> None:
    root, expected = _broken_copy(clean_sysu, tmp_path, defect)
    result = runner.invoke(app, ["data", "check", str(root)])
    assert result.exit_code != 0
    assert expected in result.output and "Traceback" not in result.output


def test_cli_rejects_an_idx_line_that_points_nowhere(clean_regdb: Path, tmp_path: Path) -> None:
    root, expected = _broken_copy(clean_regdb, tmp_path, _idx_points_nowhere)
    result = runner.invoke(app, ["data", "check", str(root)])
    assert result.exit_code != 0 and expected in result.output
