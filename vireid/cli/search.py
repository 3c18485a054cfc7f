"""`vireid search`: the top-k gallery images for one query image, through the deployed runtime (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import user_errors
from vireid_runtime.backends import AUTO_ORDER, names

BACKEND_HELP = (
    f"{', '.join(names())}, or auto: the fastest backend and precision that passed its parity bar in ART_DIR's "
    f"bench.json from this machine, else the first that runs of {' > '.join(AUTO_ORDER)} (the choice is printed)."
)


@user_errors
def search_cli(
    art_dir: Annotated[Path, typer.Argument(help="Artifact directory written by `vireid export`.")],
    query: Annotated[Path, typer.Option("--query", help="The query image.")],
    gallery: Annotated[Path, typer.Option("--gallery", help="A folder of images (recursive) or a list file.")],
    query_modality: Annotated[
        str, typer.Option("--query-modality", help="visible or infrared (default: infrared, as in SYSU-MM01).")
    ] = "infrared",
    gallery_modality: Annotated[
        str | None, typer.Option("--gallery-modality", help="Default: the other modality (cross-modal search).")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="How many gallery images to list.")] = 10,
    out: Annotated[Path | None, typer.Option("--out", help="Write the ranked-list picture (PNG) here.")] = None,
    backend: Annotated[str, typer.Option("--backend", help=BACKEND_HELP)] = "ort-cpu",
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision",
            help="fp32, fp16, bf16 (openvino) or int8, as the backend offers (default: fp32; with --backend auto, "
            "the fastest that passed its parity bar).",
        ),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Gallery embedding cache folder (default: ~/.cache/vireid/search)."),
    ] = None,
) -> None:
    """Rank a gallery for a query image with the exported branches, and draw the ranked list.

    Identities are read from SYSU-MM01 / RegDB style paths when present, and the picture frames matches green
    and mismatches red. Gallery embeddings are cached by file content: a second query over the same gallery
    embeds only the query.
    """
    from vireid.gallery.ranked_list import draw_ranked_list
    from vireid.search.engine import search

    result = search(
        art_dir,
        query,
        gallery,
        query_modality=query_modality,
        gallery_modality=gallery_modality,
        top_k=top_k,
        backend=backend,
        precision=precision,
        cache_dir=cache,
    )
    for line in result.choice:
        typer.echo(line, err=True)
    typer.echo(
        f"query {result.query} ({result.modalities[0]}"
        + (f", id {result.query_id}" if result.query_id is not None else "")
        + f") against {result.gallery_size} {result.modalities[1]} images "
        f"({result.cache_hits} cached, {result.cache_misses} embedded)"
    )
    for rank, match in enumerate(result.ranked, start=1):
        path, score, identity = match.crop.path, match.score, match.crop.identity if match.crop.identity >= 0 else None
        mark = ""
        if identity is not None and result.query_id is not None:
            mark = "  match" if identity == result.query_id else ""
        typer.echo(f"{rank:3d}  {score:.4f}  {path}" + (f"  id {identity}" if identity is not None else "") + mark)
    if out is not None:
        draw_ranked_list(result.query, result.query_id, result.ranked, out)
        typer.echo(f"wrote {out}")
