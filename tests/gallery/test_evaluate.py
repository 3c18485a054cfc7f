"""`gallery eval`'s comparison: an IVF index probing too few lists misses exact search's answers; raising
nprobe until it meets the bar makes it exact, and the gallery keeps the setting. The protocol's own camera rule
(SYSU-MM01's, none for RegDB), and no verdict without queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gallery.test_store_conformance import FINGERPRINT, _data
from vireid.errors import VireidError
from vireid.gallery.evaluate import (
    Bar,
    GalleryEvaluation,
    GalleryVerdict,
    compare,
    evaluate_gallery,
    protocol_filter,
)
from vireid.gallery.records import Crop, CropFilter
from vireid.gallery.store import GalleryStore, open_store


def _under_probed_gallery(root: Path, crops: list[Crop], vectors: np.ndarray) -> GalleryStore:
    """An IVF gallery probing 1 of its 16 lists: it misses some of exact search's answers."""
    store = open_store(root, create=True, index="ivf-flat:nlist=16,nprobe=1")
    store.set_fingerprint(FINGERPRINT)
    store.add(crops, vectors)
    store.finish()
    return store


def test_eval_raises_nprobe_until_the_index_answers_like_exact_search_and_keeps_it(tmp_path: Path) -> None:
    crops, vectors = _data(600)
    store = _under_probed_gallery(tmp_path / "g", crops, vectors)
    queries = vectors[0:60:2]  # infrared crops against the visible partition
    cameras = ["cam1"] * len(queries)  # (a camera-3 query's filter would be answered exactly: see below)
    identities = [crops[i].identity for i in range(0, 60, 2)]
    first = compare(store, "infrared", queries, cameras, identities, 20, store.describe("visible"), Bar(), "sysu")
    assert not first.passed and first.recall_at_10 < 0.99
    steps = []
    result = first
    while not result.passed and store.tune("visible", steps.append):
        result = compare(store, "infrared", queries, cameras, identities, 20, store.describe("visible"), Bar(), "sysu")
    assert result.passed and result.recall_at_10 == 1.0 and result.delta_rank1 == 0 and result.delta_map == 0
    assert steps and steps[-1].endswith(f"-> {int(store.describe('visible').split('nprobe=')[1].split()[0])}")
    store.close()
    again = open_store(tmp_path / "g")
    assert again.describe("visible") == result.index
    again.close()


def test_a_camera_3_query_never_sees_camera_2_and_its_small_filtered_set_is_searched_exactly(tmp_path: Path) -> None:
    crops, vectors = _data(600)
    store = _under_probed_gallery(tmp_path / "g", crops, vectors)
    identities = [crops[i].identity for i in range(0, 60, 2)]
    result = compare(store, "infrared", vectors[0:60:2], ["cam3"] * 30, identities, 20, "ivf", Bar(), "sysu")
    assert result.passed and result.recall_at_10 == 1.0
    stored = store.cameras("visible")
    assert protocol_filter(stored, "sysu", "cam3") == CropFilter(cameras=("cam0", "cam1", "cam3", "cam4"))
    assert protocol_filter(stored, "sysu", "cam6") == CropFilter() and protocol_filter(["cam2"], "sysu", "cam3") is None
    store.close()


def test_regdb_has_no_camera_rule() -> None:
    assert protocol_filter(["cam1", "cam2"], "regdb", "cam3") == CropFilter()  # even a camera SYSU-MM01 would drop
    assert protocol_filter(["cam2"], "regdb", "cam3") == CropFilter()
    assert protocol_filter(["gate-2"], "sysu", "gate-3") == CropFilter()  # a camera no dataset named


def test_an_evaluation_of_no_query_is_refused_not_passed(tmp_path: Path) -> None:
    crops, vectors = _data(600)
    store = _under_probed_gallery(tmp_path / "g", crops, vectors)
    with pytest.raises(VireidError, match="no query to evaluate"):
        compare(store, "infrared", vectors[:0], [], [], 20, "ivf", Bar(), "sysu")
    with pytest.raises(VireidError, match="no query to evaluate"):
        evaluate_gallery(store, tmp_path / "artifacts", [])
    store.close()
    missed = GalleryEvaluation(30, 20, "ivf", 0.9, 0.9, 50.0, 40.0, 50.0, 40.0, passed=False)
    passed = GalleryEvaluation(30, 20, "flat", 1.0, 1.0, 50.0, 50.0, 50.0, 50.0, passed=True)
    GalleryVerdict((passed,)).require_passed()
    with pytest.raises(VireidError, match="misses exact search's answers"):
        GalleryVerdict((passed, missed)).require_passed()


def test_scores_share_one_denominator_and_never_exceed_100() -> None:
    from vireid.gallery.evaluate import _scores
    from vireid.gallery.records import Crop, Match

    def match(identity: int) -> Match:
        return Match(identity, 0.0, Crop("x", "p", "visible", identity=identity))

    exact = [[match(1), match(2), match(1)]]
    index = [[match(2), match(1), match(3)]]
    rank1, ap = _scores(index, [2], [1], 3)
    assert rank1 == 0.0 and np.isclose(ap, 100 * (1 / 2) / 2)
    assert _scores(exact, [2], [1], 3) == (100.0, 100 * (1 + 2 / 3) / 2)
    richer = [[match(1), match(1), match(1)]]  # the index found more positives than exact search's top k
    assert _scores(richer, [3], [1], 3)[1] == 100.0
