"""SYSU-MM01 reader on a small synthetic tree: query, seeded galleries (against the baseline draw), train set."""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import pytest

from vireid.data.synthetic import generate
from vireid.data.sysu import SYSUMM01
from vireid.errors import VireidError


@pytest.fixture(scope="module")
def sysu(tmp_path_factory: pytest.TempPathFactory) -> SYSUMM01:
    root = tmp_path_factory.mktemp("sysu")
    # Default per-camera counts (5..12) so multi-shot galleries meet folders both under and over 10 images.
    generate("sysu", root, ids=10, seed=3, workers=1)
    return SYSUMM01(root)


def _folders(dataset: SYSUMM01, cams: tuple[int, ...]) -> set[tuple[int, int]]:
    return {(pid, cam) for pid in dataset.test_ids() for cam in cams if os.path.isdir(dataset.folder(cam, pid))}


def baseline_gallery(data_path: str, mode: str, trial: int) -> list[str]:
    """The widely used baseline's single-shot gallery draw, re-implemented from its description."""
    random.seed(trial)
    cameras = ["cam1", "cam2", "cam4", "cam5"] if mode == "all" else ["cam1", "cam2"]
    with open(os.path.join(data_path, "exp/test_id.txt")) as handle:
        ids = ["%04d" % int(y) for y in handle.read().splitlines()[0].split(",")]  # noqa: UP031
    files = []
    for pid in sorted(ids):
        for cam in cameras:
            img_dir = os.path.join(data_path, cam, pid)
            if os.path.isdir(img_dir):
                files.append(random.choice(sorted([img_dir + "/" + name for name in os.listdir(img_dir)])))
    return files


def test_query_is_every_infrared_image_of_the_test_ids(sysu: SYSUMM01) -> None:
    expected = [
        os.path.join(sysu.folder(cam, pid), name)
        for pid in sysu.test_ids()
        for cam in (3, 6)
        if os.path.isdir(sysu.folder(cam, pid))
        for name in sorted(os.listdir(sysu.folder(cam, pid)))
    ]
    for mode in ("all", "indoor"):
        query = sysu.query(mode)
        assert [s.path for s in query] == expected
        assert {s.modality for s in query} == {"infrared"} and {s.camid for s in query} <= {3, 6}
        assert all(s.pid == int(Path(s.path).parent.name) for s in query)


@pytest.mark.parametrize(("mode", "cams"), [("all", (1, 2, 4, 5)), ("indoor", (1, 2))])
def test_single_shot_gallery_has_one_image_per_id_and_camera_folder(
    sysu: SYSUMM01, mode: str, cams: tuple[int, ...]
) -> None:
    for trial in range(10):
        gallery = sysu.gallery(mode, trial=trial)
        per_folder = Counter((s.pid, s.camid) for s in gallery)
        assert set(per_folder) == _folders(sysu, cams)
        assert set(per_folder.values()) == {1}
        assert {s.modality for s in gallery} == {"visible"}
        assert all(Path(s.path).parent == Path(sysu.folder(s.camid, s.pid)) for s in gallery)


@pytest.mark.parametrize("mode", ["all", "indoor"])
def test_multi_shot_gallery_takes_ten_or_all(sysu: SYSUMM01, mode: str) -> None:
    gallery = sysu.gallery(mode, trial=2, shots=10)
    per_folder = Counter((s.pid, s.camid) for s in gallery)
    assert per_folder == {key: min(10, len(sysu.files(key[1], key[0]))) for key in per_folder}
    assert len({s.path for s in gallery}) == len(gallery)
    sizes = {len(sysu.files(cam, pid)) for pid, cam in per_folder}
    assert min(sizes) < 10 < max(sizes)  # both branches of min(10, n) were exercised


def test_galleries_are_reproducible_and_differ_between_trials(sysu: SYSUMM01) -> None:
    galleries = [tuple(s.path for s in sysu.gallery("all", trial=trial)) for trial in range(10)]
    assert galleries == [tuple(s.path for s in sysu.gallery("all", trial=trial)) for trial in range(10)]
    assert len(set(galleries)) == 10


@pytest.mark.parametrize("mode", ["all", "indoor"])
def test_single_shot_gallery_equals_the_baseline_draw(sysu: SYSUMM01, mode: str) -> None:
    state = random.getstate()
    try:
        for trial in range(10):
            assert [s.path for s in sysu.gallery(mode, trial=trial)] == baseline_gallery(sysu.root, mode, trial)
    finally:
        random.setstate(state)


def test_train_samples_cover_train_and_val_ids_in_all_cameras(sysu: SYSUMM01) -> None:
    samples = sysu.train_samples()
    assert sysu.train_ids() == sorted(sysu.split_ids("train") + sysu.split_ids("val"))
    assert [s.path for s in samples] == sorted(s.path for s in samples)
    assert {s.pid for s in samples} == set(sysu.train_ids())
    assert not {s.pid for s in samples} & set(sysu.test_ids())
    assert {s.camid for s in samples} == {1, 2, 3, 4, 5, 6}
    assert all((s.modality == "infrared") == (s.camid in (3, 6)) for s in samples)
    assert all(os.path.isabs(s.path) and s.pid == int(Path(s.path).parent.name) for s in samples)


def test_bad_arguments_are_user_errors(sysu: SYSUMM01, tmp_path: Path) -> None:
    with pytest.raises(VireidError, match="indoor"):
        sysu.query("outdoor")
    with pytest.raises(VireidError, match="shots"):
        sysu.gallery("all", shots=5)
    with pytest.raises(VireidError, match="not a SYSU-MM01 tree"):
        SYSUMM01(tmp_path)
