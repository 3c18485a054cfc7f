"""`vireid serve`: the gallery as a search service with an operator page (a thin wrapper of `vireid.serve`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import user_errors
from vireid.cli.search import BACKEND_HELP


@user_errors
def serve_cli(
    gallery: Annotated[
        str,
        typer.Argument(
            help="The gallery: a FAISS folder, a milvus-lite path ending in .db, or milvus://HOST:PORT "
            "(optionally /COLLECTION)."
        ),
    ],
    art_dir: Annotated[Path, typer.Argument(help="The artifact directory its crops were embedded with.")],
    host: Annotated[
        str, typer.Option("--host", help="Address to bind. Anything but loopback needs --token-file.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind.")] = 8080,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="File holding the read token (searching, images).")
    ] = None,
    write_token_file: Annotated[
        Path | None,
        typer.Option("--write-token-file", help="File holding the write token (adding and removing crops)."),
    ] = None,
    backend: Annotated[str, typer.Option("--backend", help=BACKEND_HELP)] = "auto",
    precision: Annotated[str | None, typer.Option("--precision", help="fp32, fp16, bf16 or int8.")] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Engine threads per branch (default: every core but one).")
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA zone of hour windows and printed times (e.g. Europe/Berlin).")
    ] = "UTC",
    audit_log: Annotated[
        Path, typer.Option("--audit-log", help="JSON-lines audit log: who searched for what, and what came back.")
    ] = Path("vireid-audit.jsonl"),
    uploads: Annotated[
        Path | None,
        typer.Option(
            "--uploads", help="Folder for uploaded crops (default: GALLERY/uploads, or beside the audit log)."
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option("--cors-origin", help="Allow this origin's pages to call the API (repeatable).")
    ] = None,
    max_upload_bytes: Annotated[int, typer.Option("--max-upload-bytes", help="Largest request body with images.")] = 8
    << 20,
    max_pixels: Annotated[int, typer.Option("--max-pixels", help="Largest image, width x height.")] = 16_000_000,
    max_batch: Annotated[
        int | None,
        typer.Option("--max-batch", help="Query images per engine call (default: the export's optimum; 1: off)."),
    ] = None,
    max_wait_ms: Annotated[
        float, typer.Option("--max-wait-ms", help="How long a partial batch waits for more requests.")
    ] = 2.0,
) -> None:
    """Serve a gallery to operators: a search API under /api/v1 (OpenAPI at /docs) and a page at /.

    An uploaded crop (say its modality) or a stored crop id is embedded through the runtime and ranked against
    the other modality, with camera, date and hour-of-day filters (a window may cross midnight: 22:00-06:00),
    a score cut-off, one crop per track and cursor paging. Concurrent queries are micro-batched into one engine
    call. Binds 127.0.0.1 by default; any other address needs --token-file. --write-token-file enables
    adding and removing crops. Every search is written to the audit log. SIGTERM finishes the requests in
    flight, then stops.

    Example:
      vireid serve vireid-demo/gallery vireid-demo/artifacts --token-file token.txt
    """
    from vireid.serve.server import serve
    from vireid.serve.settings import Batching, Limits, ServeSettings, read_token_file

    settings = ServeSettings(
        gallery=gallery,
        art_dir=art_dir,
        backend=backend,
        precision=precision,
        threads=threads,
        host=host,
        port=port,
        read_token=read_token_file(token_file, "--token-file") if token_file else None,
        write_token=read_token_file(write_token_file, "--write-token-file") if write_token_file else None,
        timezone=timezone,
        cors_origins=tuple(cors_origin or ()),
        audit_log=audit_log,
        uploads=uploads,
        limits=Limits(upload_bytes=max_upload_bytes, pixels=max_pixels),
        batching=Batching(max_batch=max_batch, max_wait_ms=max_wait_ms),
    )
    serve(settings, log=lambda line: typer.echo(line, err=True))
