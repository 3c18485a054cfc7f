"""`vireid data synth` and `vireid data preview` through the CLI, and the contact sheet itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from vireid.cli.app import app
from vireid.data.contact_sheet import CELL_H, CELL_W, GAP, HEADER_H, LABEL_W, SPLIT_GAP, contact_sheet

runner = CliRunner()


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small tree per layout, written by the CLI."""
    out = {}
    for layout, per_camera in (("sysu", "2"), ("regdb", "3")):
        root = tmp_path_factory.mktemp(layout)
        args = [
            "data",
            "synth",
            "--layout",
            layout,
            "--out",
            str(root),
            "--ids",
            "6",
            "--images-per-camera",
            per_camera,
        ]
        result = runner.invoke(app, [*args, "--workers", "1"])
        assert result.exit_code == 0, result.output
        assert "wrote" in result.output and str(root) in result.output
        out[layout] = root
    return out


@pytest.mark.parametrize("layout", ["sysu", "regdb"])
def test_synth_writes_a_tree_that_check_accepts(trees: dict[str, Path], layout: str) -> None:
    result = runner.invoke(app, ["data", "check", str(trees[layout])])
    assert result.exit_code == 0, result.output
    assert ("SYSU-MM01" if layout == "sysu" else "RegDB") in result.output


def test_synth_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    args = ["data", "synth", "--layout", "regdb", "--out", str(tmp_path), "--ids", "4", "--images-per-camera", "1"]
    refused = runner.invoke(app, args)
    assert refused.exit_code != 0 and "--force" in refused.output
    assert not (tmp_path / "idx").exists()
    forced = runner.invoke(app, [*args, "--force", "--workers", "1"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "idx" / "train_visible_1.txt").is_file()


@pytest.mark.parametrize("command", ["synth", "check", "preview"])
def test_help_teaches_the_layouts(command: str) -> None:
    result = runner.invoke(app, ["data", command, "-h"])
    assert result.exit_code == 0
    assert "exp/train_id.txt" in result.output and "idx/" in result.output


@pytest.mark.parametrize(("layout", "ids", "per_modality"), [("sysu", 3, 2), ("regdb", 8, 3)])
def test_contact_sheet_is_a_png_of_the_expected_size(
    trees: dict[str, Path], tmp_path: Path, layout: str, ids: int, per_modality: int
) -> None:
    out = tmp_path / "sheet.png"
    size = contact_sheet(trees[layout], out, ids=ids, per_modality=per_modality, seed=1)
    rows = min(ids, 6)  # 6 identities were generated
    expected = (LABEL_W + 2 * per_modality * (CELL_W + GAP) + SPLIT_GAP, HEADER_H + rows * (CELL_H + GAP))
    with Image.open(out) as png:
        assert png.format == "PNG" and png.size == size == expected
        png.load()
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]  # no temporary file left behind


def test_preview_cli(trees: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "preview.png"
    result = runner.invoke(app, ["data", "preview", str(trees["sysu"]), "--out", str(out), "--ids", "2"])
    assert result.exit_code == 0, result.output
    with Image.open(out) as png:
        assert png.size[1] == HEADER_H + 2 * (CELL_H + GAP)
