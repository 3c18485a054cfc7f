"""The ranked-list picture: the query, then the top-k gallery images with their scores.

Frames are green for a correct identity and red for a wrong one when identities are known from the paths,
grey otherwise. Pillow only (no matplotlib), written atomically.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from vireid.gallery.records import Match
from vireid.io.atomic import atomic_write_bytes

TILE_H, TILE_W, BORDER, GAP, CAPTION = 128, 64, 4, 8, 28
GREEN, RED, GREY, BLUE = (30, 160, 60), (200, 40, 40), (150, 150, 150), (40, 90, 200)


def _tile(path: Path, colour: tuple[int, int, int], caption: str) -> Image.Image:
    with Image.open(path) as image:
        picture = image.convert("RGB").resize((TILE_W, TILE_H), Image.Resampling.BILINEAR)
    tile = Image.new("RGB", (TILE_W + 2 * BORDER, TILE_H + 2 * BORDER + CAPTION), "white")
    draw = ImageDraw.Draw(tile)
    draw.rectangle([0, 0, TILE_W + 2 * BORDER - 1, TILE_H + 2 * BORDER - 1], fill=colour)
    tile.paste(picture, (BORDER, BORDER))
    for line, text in enumerate(caption.split("\n")[:2]):
        draw.text((2, TILE_H + 2 * BORDER + 2 + 12 * line), text, fill="black")
    return tile


def draw_ranked_list(query: Path, query_id: int | None, matches: Sequence[Match], out: Path) -> None:
    """The query and its matches in rank order (a crop's identity -1 means unknown)."""
    tiles = [_tile(query, BLUE, f"query\nid {query_id}" if query_id is not None else "query")]
    for rank, match in enumerate(matches, start=1):
        path, score = Path(match.crop.path), match.score
        identity = match.crop.identity if match.crop.identity >= 0 else None
        known = query_id is not None and identity is not None
        colour = (GREEN if identity == query_id else RED) if known else GREY
        label = f"#{rank} {score:.3f}" + (f"\nid {identity}" if identity is not None else "")
        tiles.append(_tile(path, colour, label))
    width = sum(t.width for t in tiles) + GAP * len(tiles) + GAP
    canvas = Image.new("RGB", (width, tiles[0].height + 2 * GAP), "white")
    x = GAP
    for index, tile in enumerate(tiles):
        canvas.paste(tile, (x, GAP))
        x += tile.width + GAP + (GAP if index == 0 else 0)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    atomic_write_bytes(out, buffer.getvalue())
