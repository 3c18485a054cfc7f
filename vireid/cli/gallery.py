"""`vireid gallery`: a gallery of person crops that grows without end, searched across modalities.

Thin wrappers around `vireid.gallery`; the imports happen inside the commands so `vireid --help` stays instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import register, user_errors
from vireid.cli.search import BACKEND_HELP

app = typer.Typer(
    help="A gallery of person crops over FAISS (a folder, no server) or Milvus (milvus://HOST:PORT, or a "
    "milvus-lite .db path): add crops, search across modalities with camera and time filters, remove, describe "
    "it, and check its index against exact search.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
GalleryArg = Annotated[
    str,
    typer.Argument(
        help="A folder (FAISS + SQLite), a milvus-lite path ending in .db, or milvus://HOST:PORT "
        "(optionally /COLLECTION)."
    ),
]
ArtDirArg = Annotated[Path, typer.Argument(help="Artifact directory written by `vireid export`.")]
Backend = Annotated[str, typer.Option("--backend", help=BACKEND_HELP)]
Precision = Annotated[
    str | None, typer.Option("--precision", help="fp32, fp16, bf16 or int8 (default: auto's choice).")
]
Index = Annotated[
    str | None,
    typer.Option(
        "--index",
        help="Override the index chosen by size (flat up to 50,000 crops per modality, else ivf-pq with exact "
        "re-scoring): flat, ivf-flat, ivf-sq8 or ivf-pq, optionally with settings, e.g. ivf-pq:nlist=4096,nprobe=512.",
    ),
]
Camera = Annotated[list[str] | None, typer.Option("--camera", help="Only these cameras (repeatable).")]
Since = Annotated[int | None, typer.Option("--since", help="Only crops captured at or after this time (epoch s).")]
Until = Annotated[int | None, typer.Option("--until", help="Only crops captured at or before this time (epoch s).")]


@user_errors
def add_cli(
    gallery: GalleryArg,
    art_dir: ArtDirArg,
    images: Annotated[list[Path] | None, typer.Argument(help="Crop images (with --modality etc.).")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Add every evaluation-split image of a dataset.")] = None,
    sidecar: Annotated[
        Path | None, typer.Option("--sidecar", help="CSV or JSON records: path, modality, camera, time, track.")
    ] = None,
    modality: Annotated[str | None, typer.Option("--modality", help="visible or infrared (for IMAGES).")] = None,
    camera: Annotated[str, typer.Option("--camera", help="Camera of IMAGES.")] = "",
    time: Annotated[int, typer.Option("--time", help="Capture time of IMAGES (epoch s).")] = 0,
    track: Annotated[int, typer.Option("--track", help="Track id of IMAGES.")] = -1,
    index: Index = None,
    backend: Backend = "auto",
    precision: Precision = None,
    batch: Annotated[int, typer.Option("--batch", help="Crops embedded and committed at a time.")] = 32,
) -> None:
    """Embed crops through the exported branches and add them (each image once, by content; a killed add
    loses only its last batch, and running it again completes it).

    Metadata comes from the dataset layout (--data), from --modality/--camera/--time/--track for IMAGES, or
    from a --sidecar file.
    """
    from vireid.errors import VireidError
    from vireid.gallery import metadata
    from vireid.gallery.ingest import ingest
    from vireid.gallery.store import open_store

    if sum(x is not None and x != [] for x in (images, data, sidecar)) != 1:
        raise VireidError("give IMAGES, --data ROOT or --sidecar FILE (exactly one)")
    if data is not None:
        sources = metadata.from_dataset(data)
    elif sidecar is not None:
        sources = metadata.from_sidecar(sidecar)
    else:
        sources = metadata.from_options(images or [], modality, camera, time, track)
    store = open_store(gallery, create=True, index=index)
    try:
        roots = [data] if data is not None else None  # a dataset's crops come from under its root
        result = ingest(
            store, art_dir, sources, backend=backend, precision=precision, batch=batch, log=_err, roots=roots
        )
        info = store.info()
    finally:
        store.close()
    share = result.store_seconds / max(1e-9, result.store_seconds + result.embed_seconds)
    typer.echo(
        f"added {result.added} crops, skipped {result.skipped} already stored; embedding {result.embed_seconds:.2f} s, "
        f"storing {result.store_seconds:.2f} s ({100 * share:.0f} % of the two); the gallery holds {info.crops}"
    )


@user_errors
def search_cli(
    gallery: GalleryArg,
    art_dir: ArtDirArg,
    query: Annotated[list[Path], typer.Option("--query", help="Query image (repeatable).")],
    modality: Annotated[str, typer.Option("--modality", help="The queries' modality: visible or infrared.")],
    top_k: Annotated[int, typer.Option("--top-k", help="Answers per query.")] = 10,
    camera: Camera = None,
    since: Since = None,
    until: Until = None,
    same_modality: Annotated[
        bool, typer.Option("--same-modality", help="Search the queries' own modality, not the other one.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write the ranked lists as JSON here.")] = None,
    picture: Annotated[Path | None, typer.Option("--picture", help="Draw the first query's ranked list (PNG).")] = None,
    backend: Backend = "auto",
    precision: Precision = None,
) -> None:
    """Embed each query with its branch and rank the other modality's crops (cross-modal by default), among
    the cameras and time window asked for. Prints a table; --out writes JSON, --picture the ranked list."""
    from vireid.gallery.query import search_gallery
    from vireid.gallery.records import CropFilter
    from vireid.gallery.report import draw, print_table, to_json
    from vireid.gallery.store import open_store, require_modality

    where = CropFilter(cameras=tuple(camera or ()), since=since, until=until)
    store = open_store(gallery)
    try:
        results = search_gallery(
            store,
            art_dir,
            query,
            require_modality(modality, "--modality"),
            top_k=top_k,
            where=where,
            same_modality=same_modality,
            backend=backend,
            precision=precision,
            log=_err,
        )
    finally:
        store.close()
    print_table(results, typer.echo)
    if out is not None:
        to_json(results, out)
        typer.echo(f"wrote {out}")
    if picture is not None:
        draw(results[0], picture)
        typer.echo(f"wrote {picture}")


@user_errors
def remove_cli(
    gallery: GalleryArg,
    ids: Annotated[list[int] | None, typer.Option("--id", help="Gallery id to remove (repeatable).")] = None,
    camera: Camera = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Remove crops by id, camera or capture-time range (conditions combine; at least one is needed)."""
    from vireid.gallery.records import CropFilter
    from vireid.gallery.store import open_store

    where = CropFilter(cameras=tuple(camera or ()), since=since, until=until, ids=tuple(ids or ()))
    store = open_store(gallery, writable=True)
    try:
        removed = store.remove(where)
        left = store.info().crops
    finally:
        store.close()
    typer.echo(f"removed {removed} crops; {left} remain")


@user_errors
def info_cli(gallery: GalleryArg, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Size, index type and settings per modality, the export it belongs to, disk and memory."""
    from vireid.gallery.report import info_lines
    from vireid.gallery.store import open_store

    store = open_store(gallery)
    try:
        info = store.info()
    finally:
        store.close()
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps(asdict(info), indent=2))
        return
    for line in info_lines(info):
        typer.echo(line)


@user_errors
def eval_cli(
    gallery: GalleryArg,
    art_dir: ArtDirArg,
    data: Annotated[Path, typer.Option("--data", help="The dataset whose evaluation split the gallery holds.")],
    k: Annotated[int, typer.Option("--k", help="Answers per query compared (mAP@k).")] = 100,
    backend: Backend = "auto",
    precision: Precision = None,
) -> None:
    """Run the dataset protocol's queries through the index and through exact search of the same gallery:
    recall@10, identical top-1, dRank-1 and dmAP@k. Where an IVF index misses (recall@10 >= 0.99, dRank-1 = 0,
    dmAP <= 0.1 point), nprobe is doubled until it meets them and the setting is kept; otherwise it is refused."""
    from vireid.gallery.evaluate import evaluate_dataset
    from vireid.gallery.store import open_store

    store = open_store(gallery, writable=True)
    try:
        verdict = evaluate_dataset(store, art_dir, data, k=k, backend=backend, precision=precision, log=_err)
    finally:
        store.close()
    for line in verdict.lines():
        typer.echo(line)
    verdict.require_passed()


def _err(line: str) -> None:
    typer.echo(line, err=True)


for name, command in (
    ("add", add_cli),
    ("search", search_cli),
    ("remove", remove_cli),
    ("info", info_cli),
    ("eval", eval_cli),
):
    register(app, name, command)
