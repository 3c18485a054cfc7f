"""The demo's gallery step: the evaluation images in a FAISS gallery and in milvus-lite, one cross-modal query
with a camera filter through each, and `gallery eval` against exact search (docs/architecture.md, "Gallery")."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vireid.gallery.evaluate import GalleryEvaluation
from vireid.gallery.ingest import IngestResult
from vireid.gallery.query import QueryResult
from vireid.gallery.records import GalleryInfo

QUERY_CAMERAS = ("cam1", "cam4")
"""The camera filter of the demo's query: two of SYSU-MM01's four visible cameras."""


@dataclass(frozen=True)
class GalleryShowcase:
    ingest: IngestResult
    info: GalleryInfo
    query: QueryResult
    milvus_query: QueryResult
    evaluation: GalleryEvaluation

    @property
    def stores_agree(self) -> bool:
        ids = [(m.crop.content, round(m.score, 5)) for m in self.query.matches]
        return ids == [(m.crop.content, round(m.score, 5)) for m in self.milvus_query.matches]


def gallery_showcase(data: Path, artifacts: Path, out: Path, log: Callable[[str], None]) -> GalleryShowcase:
    from vireid.gallery.evaluate import evaluate_gallery
    from vireid.gallery.ingest import ingest
    from vireid.gallery.metadata import from_dataset
    from vireid.gallery.query import search_gallery
    from vireid.gallery.records import CropFilter
    from vireid.gallery.report import draw
    from vireid.gallery.store import open_store

    sources = from_dataset(data)
    query = next(s.path for s in sources if s.modality == "infrared")
    where = CropFilter(cameras=QUERY_CAMERAS)
    results = []
    for location in (out / "gallery", out / "gallery.db"):
        store = open_store(location, create=True)
        try:
            ingested = ingest(store, artifacts, sources, log=log)
            found = search_gallery(store, artifacts, [query], "infrared", top_k=5, where=where, log=log)[0]
            results.append((ingested, store.info(), found))
            if location.suffix != ".db":
                queries = [s for s in sources if s.modality == "infrared"]
                evaluation = evaluate_gallery(store, artifacts, queries, log=log)
        finally:
            store.close()
    (ingested, info, found), (_, _, milvus_found) = results
    draw(found, out / "gallery.png")
    return GalleryShowcase(ingested, info, found, milvus_found, evaluation)


def gallery_section(showcase: GalleryShowcase, root: Path) -> list[str]:
    from vireid.bench.report import markdown_table
    from vireid.gallery.report import info_lines

    query = showcase.query
    rows = [
        [
            str(rank),
            f"{m.score:.4f}",
            m.crop.camera,
            str(m.crop.identity),
            "yes" if m.crop.identity == query.identity else "",
        ]
        for rank, m in enumerate(query.matches, start=1)
    ]
    ingest = showcase.ingest
    return [
        "## A gallery of the evaluation images (`gallery/`, `gallery.db`)",
        "",
        f"`vireid gallery add gallery/ artifacts --data data` stored {ingest.added} crops: embedding "
        f"{ingest.embed_seconds:.1f} s, storing {ingest.store_seconds:.1f} s. The same crops went into milvus-lite "
        "(`gallery.db`).",
        "",
        *[f"    {line}" for line in info_lines(dataclasses.replace(showcase.info, location="gallery/"))],
        "",
        f"Query `{Path(query.query).relative_to(root)}` (infrared, identity {query.identity}) against the visible "
        f"crops of cameras {', '.join(QUERY_CAMERAS)} only:",
        "",
        markdown_table(["rank", "score", "camera", "identity", "match"], rows),
        "",
        f"FAISS and milvus-lite return {'the same' if showcase.stores_agree else 'DIFFERENT'} crops and scores.",
        "![gallery query](gallery.png)",
        "",
        "`vireid gallery eval` (the all-search queries through the index and through exact search, SYSU-MM01's "
        "camera rule as a filter):",
        "",
        f"    {showcase.evaluation.line()}",
        "",
    ]
