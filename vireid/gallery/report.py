"""How gallery answers are shown: a table, JSON, the ranked-list picture, and `info` lines."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from vireid.gallery.query import QueryResult
from vireid.gallery.ranked_list import draw_ranked_list
from vireid.gallery.records import GalleryInfo
from vireid.io.atomic import atomic_write_text

FORMAT = "vireid-gallery-search/1"


def print_table(results: Sequence[QueryResult], echo: Callable[[str], None]) -> None:
    for result in results:
        label = f", id {result.identity}" if result.identity is not None else ""
        echo(f"query {result.query} ({result.modality}{label}) -> {result.searched}")
        for rank, m in enumerate(result.matches, start=1):
            mark = "  match" if result.identity is not None and m.crop.identity == result.identity else ""
            person = f"  person {m.crop.identity}" if m.crop.identity >= 0 else ""
            where = f"{m.crop.camera or '-'}  t={m.crop.time}{person}"
            echo(f"{rank:3d}  {m.score:.4f}  #{m.id}  {where}  {m.crop.path}{mark}")


def to_json(results: Sequence[QueryResult], out: Path) -> None:
    payload = {
        "format": FORMAT,
        "queries": [
            {
                "query": str(r.query),
                "modality": r.modality,
                "searched": r.searched,
                "identity": r.identity,
                "matches": [{"id": m.id, "score": m.score, **asdict(m.crop)} for m in r.matches],
            }
            for r in results
        ],
    }
    atomic_write_text(out, json.dumps(payload, indent=2) + "\n")


def draw(result: QueryResult, out: Path) -> None:
    draw_ranked_list(result.query, result.identity, result.matches, out)


def info_lines(info: GalleryInfo) -> list[str]:
    lines = [f"{info.store} gallery at {info.location}: {info.crops} crops"]
    if info.fingerprint is not None:
        f = info.fingerprint
        lines.append(f"export: visible {f.visible[:12]}, infrared {f.infrared[:12]}, dim {f.dim}, {f.normalisation}")
    for p in info.partitions:
        pending = f", {p.pending} pending (searched exactly)" if p.pending else ""
        lines.append(
            f"  {p.modality}: {p.crops} crops, {p.index}{pending}; disk {p.disk_bytes / 2**20:.1f} MiB, "
            f"memory {p.memory_bytes / 2**20:.1f} MiB"
        )
    return lines
