"""Pages of a ranked answer that never repeat or drop a crop, and one crop per track.

The order of an answer is total: score descending, then gallery id ascending, so ties cannot swap between two
requests. A cursor is a position in that order (the last crop shown: its score and id) plus a digest of the
search it belongs to; the next page is the crops strictly after it. Each page asks the store for the top
`shown + size + 1` crops and keeps those after the cursor (and above the lowest score fetched, whose ties the
store may have cut in another order), doubling the request while that, grouping or the score cut-off leaves the
page short, until the page is full or every crop the filter allows has been ranked. On an
exact partition the pages are therefore exactly the exact ranking cut in slices; on an IVF partition they are
the index's ranking, which `vireid gallery eval` holds to exact search's answers.

`one_per_track` keeps the best crop of each (camera, track): a track's first crop in the order. Crops without a
track (-1) each stand alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vireid.gallery.records import Match
from vireid.serve.errors import ServiceError


@dataclass(frozen=True)
class Cursor:
    search: str
    """Digest of everything that defines the search (query, branch, filters, grouping, cut-off)."""
    shown: int
    """Crops the earlier pages gave."""
    score: float
    crop_id: int

    def encode(self) -> str:
        text = json.dumps([self.search, self.shown, self.score, self.crop_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, search: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            digest, shown, score, crop_id = json.loads(raw)
            cursor = cls(str(digest), int(shown), float(score), int(crop_id))
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise ServiceError(400, "the cursor is malformed; pass next_cursor exactly as a response gave it") from None
        if cursor.search != search or cursor.shown < 0:
            raise ServiceError(
                400, "the cursor belongs to another search; send the same query and filters with it, or drop it"
            )
        return cursor


def search_digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Page:
    matches: tuple[Match, ...]
    next: Cursor | None


def order(match: Match) -> tuple[float, int]:
    return (-match.score, match.id)


def first_per_track(ranked: Sequence[Match]) -> list[Match]:
    seen: set[tuple[str, int]] = set()
    kept = []
    for match in ranked:
        if match.crop.track < 0:
            kept.append(match)
            continue
        key = (match.crop.camera, match.crop.track)
        if key not in seen:
            seen.add(key)
            kept.append(match)
    return kept


def walk(
    fetch: Callable[[int], list[Match]],
    *,
    size: int,
    allowed: int,
    search: str,
    after: Cursor | None = None,
    one_per_track: bool = False,
    min_score: float | None = None,
    max_k: int | None = None,
) -> Page:
    """The page of `size` after `after` in the answer `fetch(k)` (the store's top `k`) gives; `allowed` is how
    many crops the filter allows, `max_k` the largest `k` the store answers (None: any)."""
    if allowed <= 0:
        return Page((), None)
    shown = after.shown if after else 0
    k = min(shown + size + 1, allowed)
    position = (-after.score, after.crop_id) if after else None
    while True:
        if max_k is not None and k > max_k:
            raise ServiceError(
                400, f"this page lies beyond the {max_k:,} best answers the index can rank; narrow the filters"
            )
        found = fetch(k)
        complete = len(found) < k or k >= allowed
        ranked = sorted(found, key=order)
        if not complete and ranked:
            # Crops tied with the k-th may have twins beyond k that the store cut in its own tie order: only the
            # crops above the lowest score fetched are certainly in their final places.
            ranked = [m for m in ranked if m.score > ranked[-1].score]
        if min_score is not None:
            above = [m for m in ranked if m.score >= min_score]
            complete = complete or len(above) < len(ranked)  # the rest scores lower still
            ranked = above
        if one_per_track:
            ranked = first_per_track(ranked)
        rest = ranked if position is None else [m for m in ranked if order(m) > position]
        if len(rest) > size or complete:
            break
        k = min(2 * k, allowed)
    page = tuple(rest[:size])
    more = len(rest) > size
    cursor = Cursor(search, shown + len(page), page[-1].score, page[-1].id) if more and page else None
    return Page(page, cursor)
