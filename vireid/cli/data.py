"""`vireid data`: generate, check and preview datasets in the SYSU-MM01 and RegDB layouts.

Thin wrappers around `vireid.data.synthetic.generate`, `vireid.data.check.check_dataset` and
`vireid.data.contact_sheet.contact_sheet`; the imports happen inside the commands so `vireid --help` stays
instant.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vireid.cli.common import is_tty, register, user_errors
from vireid.data.synthetic_defaults import DEFAULT_DIFFICULTY, DEFAULT_IR_COUPLING

if TYPE_CHECKING:
    from vireid.data.synthetic import SyntheticSummary

# Typer's rich help keeps single newlines, so each paragraph is one string and paragraphs are joined by "\n\n".
LAYOUTS_HELP = (
    "[bold]SYSU-MM01[/bold]: [cyan]cam1..cam6/{id:04d}/{n:04d}.jpg[/cyan] (visible cameras 1, 2 indoor and 4, 5 "
    "outdoor; near-infrared 3 indoor and 6 outdoor) and [cyan]exp/train_id.txt[/cyan], [cyan]val_id.txt[/cyan], "
    "[cyan]test_id.txt[/cyan], each one line of comma-separated ids (train = train + val).\n\n"
    "[bold]RegDB[/bold]: [cyan]Visible/{id}/{sex}_{front|back}_v_{n:05d}_{id}.bmp[/cyan], the matching "
    "[cyan]Thermal/{id}/..._t_....bmp[/cyan], and [cyan]idx/{train,test}_{visible,thermal}_{1..10}.txt[/cyan] "
    "for the 10 trials, with lines like [cyan]Visible/12/male_back_v_00115_12.bmp 0[/cyan] (path relative to the "
    "root, identity label)."
)
SYNTH_HELP = (
    "Write a synthetic dataset in the real on-disk layout, so every reader and check runs on it.\n\n"
    "Each identity has a body shape, clothes with patterns, hair, a hat and a bag, shared by both modalities. "
    "Colour exists only in visible images; infrared images show per-garment levels instead (blurred, noisy, "
    "sometimes over-exposed), mostly a dye's own and only weakly its visible lightness (--ir-coupling), never its "
    "hue, so a model has to match shape, patterns and accessories, not colour or brightness. The same --seed writes "
    "byte-identical files. It exercises the pipeline; it is not a claim about real-data accuracy.\n\n"
    "--difficulty (0..1) sets how harsh the capture conditions are: side views, framing jitter, occluders, "
    "background clutter, blur, sensor noise and infrared over-exposure. The people stay the same at every "
    "difficulty. The default is tuned so the [cyan]demo[/cyan] preset (resnet18 from scratch, about 3 minutes on a "
    "laptop CPU) matches people across modalities well above chance; 1 is much harder.\n\n"
)
CHECK_HELP = (
    "Check a dataset before training on it: the layout, the split files, and every image decoded in full. Prints "
    "counts per split, camera and modality and a final 'ok'; otherwise exits non-zero with one line naming the "
    "first bad file, line or id.\n\n"
)
PREVIEW_HELP = (
    "Write a contact sheet (PNG): for a few identities, a row of visible images then infrared images of the same "
    "person. The quickest look at a dataset, real or synthetic.\n\n"
)

app = typer.Typer(
    help="Generate, check and preview VI-ReID datasets (SYSU-MM01 and RegDB layouts).\n\n" + LAYOUTS_HELP,
    rich_markup_mode="rich",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class LayoutChoice(str, Enum):
    sysu = "sysu"
    regdb = "regdb"


@user_errors
def synth_cli(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the dataset into (created; must be empty).")],
    layout: Annotated[
        LayoutChoice, typer.Option("--layout", help="On-disk layout to write: sysu (SYSU-MM01) or regdb (RegDB).")
    ] = LayoutChoice.sysu,
    ids: Annotated[
        int, typer.Option("--ids", help="Identities to generate (SYSU-MM01 splits them 60/20/20 train/val/test).")
    ] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed writes byte-identical files.")] = 0,
    images_per_camera: Annotated[
        int | None,
        typer.Option(
            "--images-per-camera",
            help="SYSU-MM01: images per (identity, camera), default 5..12 drawn per pair; RegDB: images per identity "
            "and modality, default 10.",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Rendering processes (default: min(4, CPU count)).")
    ] = None,
    difficulty: Annotated[
        float,
        typer.Option(
            "--difficulty",
            min=0.0,
            max=1.0,
            help="Capture conditions, 0 (clean) .. 1 (harsh): views, framing, occluders, clutter, blur, noise, "
            f"over-exposure. Default {DEFAULT_DIFFICULTY}, tuned for the demo preset.",
        ),
    ] = DEFAULT_DIFFICULTY,
    ir_coupling: Annotated[
        float,
        typer.Option(
            "--ir-coupling",
            min=0.0,
            max=1.0,
            help="How much a garment's infrared level follows its visible lightness: 1 = a near-greyscale copy "
            "(matchable by brightness), 0 = independent (only shape, patterns, accessories, pose and body are "
            f"shared, as with real near-infrared dyes). Default {DEFAULT_IR_COUPLING}.",
        ),
    ] = DEFAULT_IR_COUPLING,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty --out, replacing its dataset folders.")
    ] = False,
) -> None:
    """Write a synthetic dataset (see SYNTH_HELP)."""
    from vireid.data.synthetic import generate

    def run(progress: Callable[[int], None] | None) -> SyntheticSummary:
        return generate(
            layout.value,
            out,
            ids=ids,
            seed=seed,
            images_per_camera=images_per_camera,
            workers=workers,
            difficulty=difficulty,
            ir_coupling=ir_coupling,
            force=force,
            progress=progress,
        )

    if is_tty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("rendering identities", total=ids)
            summary = run(lambda n: bar.advance(task, n))
    else:
        summary = run(None)
    typer.echo(summary.describe())


@user_errors
def check_cli(
    path: Annotated[Path, typer.Argument(help="Dataset root (the folder holding cam1..cam6 + exp, or idx).")],
    no_images: Annotated[
        bool, typer.Option("--no-images", help="Check the structure only; skip decoding every image.")
    ] = False,
) -> None:
    """Check a dataset (see CHECK_HELP)."""
    from vireid.data.check import check_dataset

    start = time.perf_counter()
    report = check_dataset(path, verify_images=not no_images, progress=is_tty())
    typer.echo(report.format())
    typer.echo(f"ok ({time.perf_counter() - start:.1f} s)")


@user_errors
def preview_cli(
    path: Annotated[Path, typer.Argument(help="Dataset root (SYSU-MM01 or RegDB layout).")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    ids: Annotated[int, typer.Option("--ids", help="Identities (rows) to show.")] = 8,
    per_modality: Annotated[int, typer.Option("--per-modality", help="Images per modality in each row.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Seed for which identities and images are picked.")] = 0,
) -> None:
    """Write a contact sheet (see PREVIEW_HELP)."""
    from vireid.data.contact_sheet import contact_sheet

    width, height = contact_sheet(path, out, ids=ids, per_modality=per_modality, seed=seed)
    typer.echo(f"wrote {out} ({width} x {height})")


register(app, "synth", synth_cli, help=SYNTH_HELP + LAYOUTS_HELP)
register(app, "check", check_cli, help=CHECK_HELP + LAYOUTS_HELP)
register(app, "preview", preview_cli, help=PREVIEW_HELP + LAYOUTS_HELP)
