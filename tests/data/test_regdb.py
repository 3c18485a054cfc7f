"""RegDB reader on a small synthetic tree: search directions, the ten trials, tolerant idx parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from vireid.data.regdb import DIRECTIONS, RegDB
from vireid.data.sample import Sample
from vireid.data.synthetic import generate
from vireid.errors import VireidError

IDS = 8


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regdb")
    generate("regdb", root, ids=IDS, seed=1, images_per_camera=3, workers=1)
    return root


def _people(samples: list[Sample]) -> set[str]:
    """Identities by folder (Visible/{pid}/...): the idx labels are per-file indices, not person ids."""
    return {Path(s.path).parent.name for s in samples}


def test_directions_swap_query_and_gallery(root: Path) -> None:
    regdb = RegDB(root, trial=1)
    v2t_query, v2t_gallery = regdb.query("visible-to-thermal"), regdb.gallery("visible-to-thermal")
    assert {(s.modality, s.camid) for s in v2t_query} == {("visible", 1)}
    assert {(s.modality, s.camid) for s in v2t_gallery} == {("infrared", 2)}
    assert regdb.query("thermal-to-visible") == v2t_gallery
    assert regdb.gallery("thermal-to-visible") == v2t_query
    assert all(Path(s.path).is_file() for s in v2t_query + v2t_gallery)
    assert DIRECTIONS == ("visible-to-thermal", "thermal-to-visible")


def test_labels_agree_between_the_modalities_of_a_split(root: Path) -> None:
    regdb = RegDB(root, trial=4)
    for visible, thermal in (
        (regdb.train_visible(), regdb.train_thermal()),
        (regdb.test_visible(), regdb.test_thermal()),
    ):
        by_label = {s.pid: Path(s.path).parent.name for s in visible}
        assert by_label == {s.pid: Path(s.path).parent.name for s in thermal}
        assert sorted(by_label) == list(range(len(by_label)))
    assert regdb.train_samples() == regdb.train_visible() + regdb.train_thermal()


def test_trials_split_ids_half_and_half_differently(root: Path) -> None:
    splits = []
    for trial in range(1, 11):
        regdb = RegDB(root, trial=trial)
        train, test = _people(regdb.train_samples()), _people(regdb.test_visible() + regdb.test_thermal())
        assert not train & test
        assert len(train) == len(test) == IDS // 2
        assert train | test == {str(pid) for pid in range(1, IDS + 1)}
        splits.append(frozenset(train))
    assert len(set(splits)) > 1


def test_idx_parsing_tolerates_blank_lines_and_names_malformed_ones(root: Path, tmp_path: Path) -> None:
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "test_visible_2.txt").write_text("\nVisible/3/a_v_1_3.bmp 5\n\n  \nVisible/4/b.bmp 6\n\n")
    samples = RegDB(tmp_path, trial=2).test_visible()
    assert [(Path(s.path).name, s.pid) for s in samples] == [("a_v_1_3.bmp", 5), ("b.bmp", 6)]
    (tmp_path / "idx" / "test_visible_2.txt").write_text("Visible/3/a.bmp 5\nVisible/3/b.bmp\n")
    with pytest.raises(VireidError, match=r"test_visible_2\.txt:2"):
        RegDB(tmp_path, trial=2).test_visible()


def test_bad_arguments_are_user_errors(root: Path, tmp_path: Path) -> None:
    with pytest.raises(VireidError, match=r"1\.\.10"):
        RegDB(root, trial=11)
    with pytest.raises(VireidError, match="direction"):
        RegDB(root).query("visible-to-visible")
    with pytest.raises(VireidError, match="not a RegDB tree"):
        RegDB(tmp_path)
    with pytest.raises(VireidError, match=r"train_visible_1\.txt is missing"):
        (tmp_path / "idx").mkdir()
        RegDB(tmp_path).train_visible()
