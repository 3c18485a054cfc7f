"""`staged_folder`: an output folder appears whole or not at all, and --force replaces only on success."""

from __future__ import annotations

from pathlib import Path

import pytest

from vireid.errors import VireidError
from vireid.io.atomic import staged_folder


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_a_new_folder_appears_only_when_the_body_finishes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, force=False) as staging:
        (staging / "a.txt").write_text("a")
        assert not out.exists() and staging.parent == tmp_path
    assert (out / "a.txt").read_text() == "a" and _leftovers(tmp_path) == []


def test_an_occupied_folder_needs_force_and_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(VireidError, match="--force"), staged_folder(out, force=False):
        pytest.fail("the body must not run")
    with staged_folder(out, force=True) as staging:
        (staging / "new.txt").write_text("new")
        assert (out / "old.txt").read_text() == "old", "the old folder stays until the new one is complete"
    assert [p.name for p in out.iterdir()] == ["new.txt"] and _leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_a_body_that_raises_leaves_the_old_folder_and_no_staging(tmp_path: Path, error: type) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(error), staged_folder(out, force=True) as staging:
        (staging / "half.txt").write_text("half")
        raise error
    assert [p.name for p in out.iterdir()] == ["old.txt"] and _leftovers(tmp_path) == []


def test_a_file_or_a_missing_parent_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(VireidError, match="exists and is not a directory"), staged_folder(tmp_path / "file", False):
        pass
    with pytest.raises(VireidError, match="does not exist"), staged_folder(tmp_path / "no" / "out", False):
        pass
