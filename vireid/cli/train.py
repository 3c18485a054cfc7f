"""`vireid train`: train the two-stream model with the paper's recipe, resume a run, or run under torchrun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import user_errors
from vireid.config import preset_names
from vireid.errors import VireidError


@user_errors
def train_cli(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Dataset root: SYSU-MM01 or RegDB layout (`vireid data synth` makes one)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory to create.")] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help=f"Shipped config: {', '.join(preset_names())} (sysu-* and regdb-* are the paper's Table 1 rows).",
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file, applied over the preset.")] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override one key, e.g. --set model.attention=mgsa --set train.epochs=30."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Continue RUN_DIR from its last completed epoch.")
    ] = None,
    select_on_test: Annotated[
        bool,
        typer.Option(
            "--select-on-test",
            help="Keep the checkpoint that scores best on the TEST split (the baseline code's habit; it inflates "
            "results). Recorded in the run.",
        ),
    ] = False,
    val_ids: Annotated[
        int | None,
        typer.Option(
            "--val-ids",
            help="Hold out N training identities and keep the best validation epoch (default: the preset's; the "
            "Table 1 presets train on every identity and keep the final epoch, as the paper does).",
        ),
    ] = None,
    amp: Annotated[
        str | None,
        typer.Option(
            "--amp",
            metavar="auto|bf16|fp16|off",
            help="Mixed precision (default auto: bf16 on GPUs that have it, else fp16 with a gradient scaler; bf16 on "
            "CPUs with AMX or AVX-512-BF16, else off). The run's config records what ran.",
        ),
    ] = None,
    compile_model: Annotated[
        bool,
        typer.Option(
            "--compile", help="torch.compile the network: faster GPU steps after a compile of a minute or so."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing run in --out.")] = False,
) -> None:
    """Train the MGSA/MSAM two-stream model (per-part CE + hetero-center triplet, SGD, warm-up, steps at 20/50).

    Configuration layers: defaults < --preset < --config < --set. The run directory gets config.toml,
    model.safetensors, best.safetensors, trainer_state.pt and metrics.jsonl; every write is atomic, and
    `vireid train --resume RUN_DIR` continues exactly. Several GPUs or nodes:
    `torchrun --nproc-per-node 4 -m vireid train ...`.
    """
    from vireid.config import training_config
    from vireid.engine.trainer import resume as resume_run
    from vireid.engine.trainer import train

    if resume is not None:
        given = {
            "--preset": preset,
            "--config": config,
            "--set": overrides,
            "--out": out,
            "--amp": amp,
            "--select-on-test": select_on_test,
            "--val-ids": val_ids is not None,
            "--compile": compile_model,
        }
        result = resume_run(resume, str(data) if data else None, changes=[name for name, on in given.items() if on])
        typer.echo(f"resumed {resume}: finished {result.epochs} epochs")
        return
    if out is None:
        raise VireidError("--out RUN_DIR is required (or --resume RUN_DIR)")
    run_config = training_config(
        preset,
        config,
        tuple(overrides or ()),
        data=data,
        select_on_test=select_on_test,
        val_ids=val_ids,
        amp=amp,
        compile_model=compile_model,
    )
    result = train(run_config, out, force=force)
    typer.echo(f"{result.describe()}; run directory: {out}")
