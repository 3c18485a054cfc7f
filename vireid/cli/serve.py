"""`vireid serve`: the gallery as a search service with an operator page (a thin wrapper of `vireid.serve`).

The options are named types below, so that the command reads as its list of options; what they mean together
(the address and token rule, the limits) is `vireid.serve.settings.ServeSettings`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import user_errors
from vireid.cli.search import BACKEND_HELP

Gallery = Annotated[
    str,
    typer.Argument(
        help="The gallery: a FAISS folder, a milvus-lite path ending in .db, or milvus://HOST:PORT "
        "(optionally /COLLECTION)."
    ),
]
ArtDir = Annotated[Path, typer.Argument(help="The artifact directory its crops were embedded with.")]
Host = Annotated[str, typer.Option("--host", help="Address to bind. Anything but loopback needs --token-file.")]
Port = Annotated[int, typer.Option("--port", help="Port to bind.")]
TokenFile = Annotated[Path | None, typer.Option("--token-file", help="File holding the read token (search, images).")]
WriteTokenFile = Annotated[
    Path | None, typer.Option("--write-token-file", help="File holding the write token (adding, removing crops).")
]
Backend = Annotated[str, typer.Option("--backend", help=BACKEND_HELP)]
Precision = Annotated[str | None, typer.Option("--precision", help="fp32, fp16, bf16 or int8.")]
Threads = Annotated[
    int | None, typer.Option("--threads", help="Engine threads per branch (default: all cores but one).")
]
TimeZone = Annotated[
    str, typer.Option("--timezone", help="IANA zone of hour windows and printed times (e.g. Europe/Berlin).")
]
AuditLog = Annotated[
    Path, typer.Option("--audit-log", help="JSON-lines audit log: who searched for what, and what came back.")
]
Uploads = Annotated[
    Path | None,
    typer.Option("--uploads", help="Folder for uploaded crops (default: GALLERY/uploads, or beside the audit log)."),
]
CorsOrigin = Annotated[
    list[str] | None, typer.Option("--cors-origin", help="Allow this origin's pages to call the API (repeatable).")
]
MaxUploadBytes = Annotated[int, typer.Option("--max-upload-bytes", help="Largest request body with images.")]
MaxPixels = Annotated[int, typer.Option("--max-pixels", help="Largest image, width x height.")]
MaxBatch = Annotated[
    int | None,
    typer.Option("--max-batch", help="Query images per engine call (default: the export's optimum; 1: off)."),
]
MaxWaitMs = Annotated[
    float, typer.Option("--max-wait-ms", help="Longest wait of a partial batch for requests already on their way.")
]


@user_errors
def serve_cli(
    gallery: Gallery,
    art_dir: ArtDir,
    host: Host = "127.0.0.1",
    port: Port = 8080,
    token_file: TokenFile = None,
    write_token_file: WriteTokenFile = None,
    backend: Backend = "auto",
    precision: Precision = None,
    threads: Threads = None,
    timezone: TimeZone = "UTC",
    audit_log: AuditLog = Path("vireid-audit.jsonl"),
    uploads: Uploads = None,
    cors_origin: CorsOrigin = None,
    max_upload_bytes: MaxUploadBytes = 8 << 20,
    max_pixels: MaxPixels = 16_000_000,
    max_batch: MaxBatch = None,
    max_wait_ms: MaxWaitMs = 2.0,
) -> None:
    """Serve a gallery to operators: a search API under /api/v1 (OpenAPI at /docs) and a page at /.

    An uploaded crop (say its modality) or a stored crop id is embedded through the runtime and ranked against
    the other modality, with camera, date and hour-of-day filters (a window may cross midnight: 22:00-06:00),
    a score cut-off, one crop per track and cursor paging. Concurrent queries are micro-batched into one engine
    call. Binds 127.0.0.1 by default; any other address needs --token-file. --write-token-file enables
    adding and removing crops. Every search is written to the audit log. SIGTERM finishes the requests in
    flight, then stops.

    Example: vireid serve vireid-demo/gallery vireid-demo/artifacts --token-file read.token
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
