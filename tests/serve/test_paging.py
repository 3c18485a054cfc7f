"""Paging: every page of a walk gives each allowed crop once, in the exact order; cursors belong to one search;
one crop per track keeps each track's best; the score cut-off ends the walk."""

from __future__ import annotations

import numpy as np
import pytest

from vireid.gallery.records import Crop, Match
from vireid.serve.errors import ServiceError
from vireid.serve.paging import Cursor, first_per_track, order, walk


def _matches(n: int, seed: int = 0, ties: bool = True) -> list[Match]:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.uniform(-1, 1, n), 2 if ties else 9)  # rounding makes many exact ties
    return [
        Match(i * 7 + 3, float(s), Crop(f"{i:064x}", f"/c/{i}.jpg", "visible", f"cam{i % 3}", 1000 + i, i % 11 - 1))
        for i, s in enumerate(scores)
    ]


class Store:
    """A store's `search` stand-in: the top k of a fixed list, in score order with ties in an arbitrary order."""

    def __init__(self, matches: list[Match]) -> None:
        self.matches = sorted(matches, key=lambda m: (-m.score, -m.id))  # not the walk's tie order, on purpose
        self.asked: list[int] = []

    def fetch(self, k: int) -> list[Match]:
        self.asked.append(k)
        return self.matches[:k]


def _walk_all(store: Store, size: int, **options: object) -> list[list[Match]]:
    pages, cursor = [], None
    while True:
        page = walk(store.fetch, size=size, allowed=len(store.matches), search="s", after=cursor, **options)  # type: ignore[arg-type]
        pages.append(list(page.matches))
        if page.next is None:
            return pages
        cursor = Cursor.decode(page.next.encode(), "s")


@pytest.mark.parametrize("size", [1, 7, 50, 500])
def test_walking_every_page_gives_each_crop_once_in_order(size: int) -> None:
    matches = _matches(233)
    pages = _walk_all(Store(matches), size)
    walked = [m for page in pages for m in page]
    assert [m.id for m in walked] == [m.id for m in sorted(matches, key=order)]
    assert all(len(page) == size for page in pages[:-1])


def test_one_per_track_keeps_each_tracks_best_crop_across_pages() -> None:
    matches = _matches(300)
    walked = [m for page in _walk_all(Store(matches), 9, one_per_track=True) for m in page]
    expected = first_per_track(sorted(matches, key=order))
    assert [m.id for m in walked] == [m.id for m in expected]
    keys = [(m.crop.camera, m.crop.track) for m in walked if m.crop.track >= 0]
    assert len(keys) == len(set(keys)) and sum(m.crop.track < 0 for m in walked) == sum(
        m.crop.track < 0 for m in matches
    )


def test_the_score_cut_off_ends_the_walk() -> None:
    matches = _matches(200)
    walked = [m for page in _walk_all(Store(matches), 10, min_score=0.5) for m in page]
    assert walked and all(m.score >= 0.5 for m in walked)
    assert len(walked) == sum(m.score >= 0.5 for m in matches)


def test_a_cursor_of_another_search_or_a_forged_one_is_refused_in_one_line() -> None:
    cursor = Cursor("s", 10, 0.5, 3).encode()
    with pytest.raises(ServiceError, match="another search") as other:
        Cursor.decode(cursor, "t")
    with pytest.raises(ServiceError, match="malformed") as forged:
        Cursor.decode("not-base64!!", "s")
    assert other.value.status == forged.value.status == 400


def test_a_page_beyond_what_the_index_can_rank_is_refused_not_capped() -> None:
    store = Store(_matches(100))
    with pytest.raises(ServiceError, match="beyond the 16 best"):
        walk(store.fetch, size=20, allowed=100, search="s", max_k=16)


def test_an_empty_filter_asks_the_store_nothing() -> None:
    store = Store(_matches(10))
    page = walk(store.fetch, size=5, allowed=0, search="s")
    assert page.matches == () and page.next is None and store.asked == []
