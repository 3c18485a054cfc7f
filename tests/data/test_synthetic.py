"""The synthetic generator: determinism, modalities, real file-name patterns, splits, refusing to overwrite."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vireid.data.synthetic import generate
from vireid.data.sysu import read_id_file
from vireid.errors import VireidError

SYSU_NAME = re.compile(r"cam([1-6])/(\d{4})/(\d{4})\.jpg")
REGDB_NAME = re.compile(r"(Visible|Thermal)/(\d+)/(female|male)_(front|back)_([vt])_(\d{5})_(\d+)\.bmp")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sysu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sysu")
    generate("sysu", root, ids=8, seed=5, images_per_camera=2, workers=1)
    return root


@pytest.fixture(scope="module")
def regdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regdb")
    generate("regdb", root, ids=4, seed=5, images_per_camera=3, workers=1)
    return root


def test_same_seed_same_bytes_whatever_the_workers(sysu: Path, tmp_path: Path) -> None:
    again = generate("sysu", tmp_path / "again", ids=8, seed=5, images_per_camera=2, workers=2)
    assert _files(again.root) == _files(sysu)


def test_another_seed_gives_other_images(sysu: Path, tmp_path: Path) -> None:
    other = generate("sysu", tmp_path / "other", ids=8, seed=6, images_per_camera=2, workers=1)
    a, b = _files(sysu), _files(other.root)
    shared = sorted(set(a) & set(b) - {"exp/train_id.txt", "exp/val_id.txt", "exp/test_id.txt"})
    assert shared and all(a[name] != b[name] for name in shared)


def test_visible_is_coloured_and_infrared_is_grey(sysu: Path, regdb: Path) -> None:
    visible = [*sysu.glob("cam1/*/*.jpg"), *regdb.glob("Visible/*/*.bmp")]
    infrared = [*sysu.glob("cam3/*/*.jpg"), *regdb.glob("Thermal/*/*.bmp")]
    for path in infrared:
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all(), path
    chroma = [np.abs(np.diff(np.asarray(Image.open(p).convert("RGB"), dtype=np.int16), axis=2)).mean() for p in visible]
    assert min(chroma) > 3.0


def test_sysu_names_splits_and_modalities(sysu: Path) -> None:
    images = [p.relative_to(sysu).as_posix() for p in sysu.rglob("*.jpg")]
    assert images and all(SYSU_NAME.fullmatch(name) for name in images)
    cams_of: dict[int, set[int]] = {}
    for name in images:
        cam, pid, _ = SYSU_NAME.fullmatch(name).groups()  # type: ignore[union-attr]
        cams_of.setdefault(int(pid), set()).add(int(cam))
    assert all(cams & {1, 2, 4, 5} and cams & {3, 6} for cams in cams_of.values())
    splits = {split: read_id_file(sysu / "exp" / f"{split}_id.txt") for split in ("train", "val", "test")}
    assert all(len(ids) >= 2 for ids in splits.values())
    assert sorted(pid for ids in splits.values() for pid in ids) == sorted(cams_of) == list(range(1, 9))
    assert all(len((sysu / "exp" / f"{s}_id.txt").read_text().strip().splitlines()) == 1 for s in splits)
    heights = {Image.open(sysu / name).size[1] for name in images}
    assert min(heights) >= 112 and max(heights) <= 152 and len(heights) > 1


def test_regdb_names_pairs_and_size(regdb: Path) -> None:
    images = [p.relative_to(regdb).as_posix() for p in regdb.rglob("*.bmp")]
    matches = [REGDB_NAME.fullmatch(name) for name in images]
    assert images and all(matches)
    for match in matches:
        folder, pid, _, _, letter, _, name_pid = match.groups()  # type: ignore[union-attr]
        assert pid == name_pid and letter == folder[0].lower()
    visible = {name.replace("Visible/", "").replace("_v_", "_") for name in images if name.startswith("Visible")}
    thermal = {name.replace("Thermal/", "").replace("_t_", "_") for name in images if name.startswith("Thermal")}
    assert visible == thermal and len(visible) == 4 * 3
    assert {Image.open(regdb / name).size for name in images} == {(64, 128)}
    assert len(list((regdb / "idx").glob("*.txt"))) == 40


def test_refuses_a_non_empty_folder_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(VireidError, match="--force"):
        generate("regdb", tmp_path, ids=4, images_per_camera=1, workers=1)
    generate("regdb", tmp_path, ids=4, images_per_camera=1, workers=1, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"  # --force replaces dataset folders only
    assert (tmp_path / "idx" / "test_thermal_10.txt").is_file()


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(VireidError, match="--ids"):
        generate("sysu", tmp_path, ids=5)
    with pytest.raises(VireidError, match="layout"):
        generate("market", tmp_path)  # type: ignore[arg-type]


def test_difficulty_changes_the_conditions_not_the_people(tmp_path: Path) -> None:
    from dataclasses import astuple

    from vireid.data.synthetic.difficulty import DEFAULT_DIFFICULTY, nuisances

    easy, default, hard = (nuisances(d) for d in (0.0, DEFAULT_DIFFICULTY, 1.0))
    assert all(e <= m <= h for e, m, h in zip(astuple(easy), astuple(default), astuple(hard), strict=True))
    assert easy.side_view < hard.side_view and easy.noise < hard.noise and easy.overexposure < hard.overexposure
    with pytest.raises(VireidError, match="--difficulty"):
        generate("sysu", tmp_path / "bad", ids=6, difficulty=1.5)
    assert not (tmp_path / "bad").exists()

    clean = generate("sysu", tmp_path / "clean", ids=6, seed=3, images_per_camera=2, workers=1, difficulty=0.0)
    harsh = generate("sysu", tmp_path / "harsh", ids=6, seed=3, images_per_camera=2, workers=1, difficulty=1.0)
    a, b = _files(clean.root), _files(harsh.root)
    assert a.keys() == b.keys() and a["exp/test_id.txt"] == b["exp/test_id.txt"]
    assert all(a[name] != b[name] for name in a if name.endswith(".jpg"))
    # Harsher conditions: more blur, but noisier, banded and more cluttered infrared frames are rougher overall.

    def roughness(root: Path) -> float:
        frames = [np.asarray(Image.open(p), dtype=np.float32) for p in sorted(root.glob("cam[36]/*/*.jpg"))]
        return float(np.mean([np.abs(np.diff(frame, axis=1)).mean() for frame in frames]))

    assert roughness(clean.root) < roughness(harsh.root)


def test_ir_coupling_sets_how_much_infrared_follows_visible_lightness(tmp_path: Path) -> None:
    """At 1 a garment's infrared level is its visible lightness (give or take); at 0 the two are unrelated,
    while everything else about the person (here: the colours and the body) stays the same."""
    from vireid.data.synthetic.identity import DEFAULT_IR_COUPLING, LOWER, TOP, draw_identity

    assert DEFAULT_IR_COUPLING <= 0.3, "the default must not hand the model a greyscale-copy shortcut"

    def correlation(coupling: float) -> float:
        lightness, level = [], []
        for pid in range(1, 301):
            person = draw_identity(7, pid, coupling)
            for part in (TOP, LOWER):
                lightness.append(float(np.dot(person.colours[part], (0.3, 0.59, 0.11))))
                level.append(float(person.temperatures[part]))
        return float(np.corrcoef(lightness, level)[0, 1])

    assert correlation(1.0) > 0.8
    assert abs(correlation(0.0)) < 0.12
    assert 0.2 < correlation(0.3) < correlation(1.0)
    default, free = draw_identity(7, 5), draw_identity(7, 5, 0.0)
    assert np.array_equal(default.colours, free.colours) and default.stature == free.stature
    assert np.array_equal(default.temperatures, draw_identity(7, 5, DEFAULT_IR_COUPLING).temperatures)
    with pytest.raises(VireidError, match="--ir-coupling"):
        generate("sysu", tmp_path / "bad", ids=6, ir_coupling=1.5)
    assert not (tmp_path / "bad").exists()
