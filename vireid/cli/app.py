"""The Typer application: `vireid` and `python -m vireid` alike."""

from __future__ import annotations

from typing import Annotated

import typer

from vireid import __version__
from vireid.cli import bench, data, demo, deploy, eval, export, gallery, search, serve, train
from vireid.cli.common import register

app = typer.Typer(
    name="vireid",
    help=(
        "Visible-infrared person re-identification, from training to deployed engines.\n\n"
        "[bold]vireid train[/bold] trains the MGSA/MSAM two-stream model, [bold]vireid export[/bold] writes per-branch "
        "ONNX and TensorRT engines behind a parity gate, [bold]vireid bench[/bold] proves parity and speed. "
        "New here? Run [bold]vireid demo[/bold]."
    ),
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vireid {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Visible-infrared person re-identification, from training to deployed engines."""


register(app, "train", train.train_cli)
register(app, "eval", eval.eval_cli)
register(app, "export", export.export_cli)
register(app, "bench", bench.bench_cli)
app.add_typer(data.app, name="data")
app.add_typer(deploy.app, name="deploy")
register(app, "demo", demo.demo_cli)
register(app, "search", search.search_cli)
app.add_typer(gallery.app, name="gallery")
register(app, "serve", serve.serve_cli)


def main() -> None:
    app()
