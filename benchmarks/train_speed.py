"""Training images/s of the paper's model per arithmetic setting, side by side in one process.

For each setting (fp32 without and with channels_last, AMP bf16, AMP fp16 with a gradient scaler, and AMP +
torch.compile), trains the `sysu-mgsa-msam` preset (resnet50, 288 x 144, P x K = 6 x 8, so 96 images a step) from
random weights for two short epochs on DATA and reports the second epoch's images/s (the first pays for cuDNN's
algorithm search and the compile). Settings the device cannot run (bf16 on an old GPU, fp16 on a CPU) are listed
with the reason. Writes OUT/speed.md and OUT/speed.json; run directories go under OUT/runs.

`--preset demo` measures the demo preset instead (resnet18, 96 x 48, P x K = 8 x 4), the CPU case.

usage: python benchmarks/train_speed.py --data DATA --out OUT [--preset NAME] [--batches 40] [--settings ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

SETTINGS = {
    "fp32": ("--amp", "off", "--set", "train.channels_last=false"),
    "fp32-cl": ("--amp", "off"),
    "bf16-cl": ("--amp", "bf16"),
    "fp16-cl-scaler": ("--amp", "fp16"),
    "amp-cl-compile": ("--amp", "auto", "--compile"),
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--preset", default="sysu-mgsa-msam", help="the preset to train (default: the paper's)")
    parser.add_argument("--batches", type=int, default=40, help="steps per epoch (two epochs per setting)")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--workers", type=int, default=min(12, os.cpu_count() or 1))
    return parser.parse_args()


def _time_setting(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train `name` for two short epochs; its row: the second epoch's images/s, or why the device cannot run it."""
    from typer.testing import CliRunner

    from vireid.cli.app import app
    from vireid.io.rundir import load_config

    run = args.out / "runs" / name
    command = [
        "train", "--preset", args.preset, "--data", str(args.data), "--out", str(run), "--force",
        *SETTINGS[name],
        "--set", "model.pretrained='none'", "--set", "train.epochs=2", "--set", "train.warmup_epochs=1",
        "--set", "train.milestones=[]", "--set", f"train.batches_per_epoch={args.batches}",
        "--set", f"data.workers={args.workers}", "--set", "train.lr=0.01",
    ]  # fmt: skip
    print(f"== {name}: vireid {' '.join(command)}", flush=True)
    result = CliRunner().invoke(app, command)
    if result.exit_code != 0:
        reason = (result.output.strip().splitlines() or [repr(result.exception)])[-1]
        print(f"   skipped: {reason}", flush=True)
        return {"setting": name, "images_per_s": None, "skipped": reason}
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rate = [e for e in epochs if e.get("event") == "epoch"][-1]["images_per_s"]
    train_cfg = load_config(run).train
    recorded = (
        f"amp={train_cfg.amp} amp_dtype={train_cfg.amp_dtype} channels_last={train_cfg.channels_last} "
        f"compile={train_cfg.compile}"
    )
    print(f"   {rate:.0f} images/s ({recorded})", flush=True)
    return {"setting": name, "images_per_s": rate, "recorded": recorded}


def _table(rows: list[dict[str, Any]], args: argparse.Namespace, device: str, torch_version: str) -> list[str]:
    """speed.md: one row per setting, with its ratio to fp32 measured in the same run."""
    from vireid.config import load_run_config

    base = next((r["images_per_s"] for r in rows if r["setting"] == "fp32" and r["images_per_s"]), None)
    preset = load_run_config(args.preset)
    model, train = preset.model, preset.train
    lines = [
        f"# Training speed: `{args.preset}` ({model.backbone} {model.attention} {model.height}x{model.width}, "
        f"P x K = {train.ids_per_batch} x {train.images_per_id}), from random weights, on {device}",
        "",
        f"torch {torch_version}; {args.batches} steps per epoch, the second epoch timed; "
        f"data loader workers: {args.workers}.",
        "",
        "| setting | images/s | vs fp32 | recorded in config.toml |",
        "|---|---|---|---|",
    ]
    for r in rows:
        if r["images_per_s"] is None:
            lines.append(f"| {r['setting']} | skipped: {r['skipped']} | | |")
            continue
        ratio = f"{r['images_per_s'] / base:.2f}x" if base else "-"
        lines.append(f"| {r['setting']} | {r['images_per_s']:.1f} | {ratio} | {r['recorded']} |")
    return lines


def main() -> int:
    args = _arguments()
    import torch

    from vireid.io.atomic import atomic_write_text

    cpu = f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else cpu
    rows = [_time_setting(name, args) for name in args.settings.split(",")]
    lines = _table(rows, args, device, torch.__version__)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "speed.md", "\n".join(lines) + "\n")
    atomic_write_text(args.out / "speed.json", json.dumps({"device": device, "rows": rows}, indent=2) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
