"""Summarise benchmarks/results/precision: gates, kept layers, search time, bench deltas and speed ratios.

Usage: python benchmarks/precision_summary.py benchmarks/results/precision > .../summary.md
Reads manifest-seed*.json, bench-seed*/bench.json, export-seed*.txt, float-cost-seed*.md and cpu.txt written by
precision_resnet50.sh, the manifests and benches through the runtime's typed readers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vireid_runtime.bench_result import BenchResult, read_bench
from vireid_runtime.manifest import Manifest, manifest_from_dict


def cpu_line(folder: Path) -> str:
    text = (folder / "cpu.txt").read_text() if (folder / "cpu.txt").is_file() else ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "?")
    flags = set(text.split())
    marks = [f"{flag} {'yes' if flag in flags else 'no'}" for flag in ("avx2", "avx512f", "avx512_vnni", "amx_int8")]
    return f"{name}; " + ", ".join(marks)


def gate_rows(manifest: Manifest) -> list[str]:
    rows = []
    for a in manifest.artifacts:
        plan, parity = a.plan, a.parity
        if parity is None:
            continue
        kept = ", ".join(k.layer for k in plan.kept) if plan and plan.kept else "none"
        rows.append(
            f"| {a.file} | {' | '.join(parity.cells(5))} | {'pass' if parity.passed else 'FAIL'} | "
            f"{(plan.calibration if plan else '') or '-'} | "
            f"{len(plan.kept) if plan else 0} / {plan.candidates if plan else '-'} | "
            f"{plan.measurements if plan else 0} | {plan.search_seconds if plan else 0:.0f} | {kept} |"
        )
    return rows


def bench_rows(bench: BenchResult) -> list[str]:
    rows = []
    for entry in bench.parity:
        for split, m in entry.splits.items():
            rows.append(
                f"| {entry.backend} {entry.precision} | {' | '.join(entry.figures.cells(5))} | "
                f"{100 * m.R1:.2f} ({100 * m.dR1:+.2f}) | {100 * m.mAP:.2f} ({100 * m.dmAP:+.2f}) | "
                f"{100 * m.mINP:.2f} ({100 * m.dmINP:+.2f}) | {'ok' if entry.passed else 'MISSES'} | {split} |"
            )
    return rows


def speed_rows(bench: BenchResult) -> list[str]:
    """Compute images/s of every backend x precision against ort-cpu fp32 and openvino bf16, same branch and batch."""
    ips = {(e.backend, e.precision, e.modality, e.batch): e.compute.images_per_s for e in bench.latency}
    rows = []
    for (backend, precision, modality, batch), value in ips.items():
        fp32 = ips.get(("ort-cpu", "fp32", modality, batch))
        bf16 = ips.get(("openvino", "bf16", modality, batch))
        rows.append(
            f"| {backend} {precision} | {modality} | {batch} | {value:.1f} | "
            f"{f'{value / fp32:.2f}x' if fp32 else '-'} | {f'{value / bf16:.2f}x' if bf16 else '-'} |"
        )
    return rows


def main(folder: Path) -> None:
    print("# Precision on the demo ResNet-50 (generated data)\n")
    print(f"CPU: {cpu_line(folder)}\n")
    print("The generated dataset shows that deployment keeps what training learned; it says nothing about real")
    print("SYSU-MM01 or RegDB accuracy.\n")
    for manifest_path in sorted(folder.glob("manifest-seed*.json")):
        seed = manifest_path.stem.removeprefix("manifest-")
        manifest = manifest_from_dict(json.loads(manifest_path.read_text()))
        export_log = folder / f"export-{seed}.txt"
        seconds = (
            next((line for line in export_log.read_text().splitlines() if line.startswith("export seconds")), "")
            if export_log.is_file()
            else ""
        )
        print(f"## {seed}\n\n### Export gates (every evaluation image) and plans (training images)\n")
        if seconds:
            print(f"Whole export ({seconds.removeprefix('export seconds: ')} s), fp32,fp16,int8, both int8 flavours.\n")
        print(
            "| file | cos min | cos p1 | below bar | cos mean | gate | calibration | kept / candidates | "
            "graphs measured | search s | kept layers |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(gate_rows(manifest)))
        bench_path = folder / f"bench-{seed}" / "bench.json"
        if bench_path.is_file():
            bench = read_bench(bench_path)
            print("\n### Bench parity on the whole evaluation split (vs torch fp32)\n")
            print(
                "| backend | cos min | cos p1 | below bar | cos mean | R1 % (Δ) | mAP % (Δ) | mINP % (Δ) | bars "
                "| split |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            print("\n".join(bench_rows(bench)))
            print("\n### Compute throughput, side by side in one process\n")
            print("| backend | branch | batch | img/s | vs ort-cpu fp32 | vs openvino bf16 |")
            print("|---|---|---|---|---|---|")
            print("\n".join(speed_rows(bench)))
        cost_path = folder / f"float-cost-{seed}.md"
        if cost_path.is_file():
            print("\n### What the layers kept in fp32 cost the CPU int8 graph (float_layer_cost.py)\n")
            print(cost_path.read_text().rstrip())
        print()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
