"""Summarise benchmarks/results/precision: gates, kept layers, search time, bench deltas and speed ratios.

Usage: python benchmarks/precision_summary.py benchmarks/results/precision > .../summary.md
Reads manifest-seed*.json, bench-seed*/bench.json, float-cost-seed*.md and cpu.txt written by precision_resnet50.sh.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def cpu_line(folder: Path) -> str:
    text = (folder / "cpu.txt").read_text() if (folder / "cpu.txt").is_file() else ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "?")
    flags = set(text.split())
    marks = [f"{flag} {'yes' if flag in flags else 'no'}" for flag in ("avx2", "avx512f", "avx512_vnni", "amx_int8")]
    return f"{name}; " + ", ".join(marks)


def gate_rows(manifest: dict[str, Any]) -> list[str]:
    rows = []
    for a in manifest["artifacts"]:
        plan = a.get("plan") or {}
        kept = ", ".join(k["layer"] for k in plan.get("kept", [])) or "none"
        parity = a["parity"]
        rows.append(
            f"| {a['file']} | {parity['cos_min']:.5f} | {parity['cos_mean']:.5f} | "
            f"{'pass' if parity['passed'] else 'FAIL'} | {plan.get('calibration', '') or '-'} | "
            f"{len(plan.get('kept', []))} / {plan.get('candidates', '-')} | "
            f"{plan.get('search_seconds', 0):.0f} | {kept} |"
        )
    return rows


def bench_rows(bench: dict[str, Any]) -> list[str]:
    rows = []
    for entry in bench["parity"]:
        for split, m in entry["splits"].items():
            rows.append(
                f"| {entry['backend']} {entry['precision']} | {entry['cos_min']:.5f} | {entry['cos_mean']:.5f} | "
                f"{100 * m['R1']:.2f} ({100 * m['dR1']:+.2f}) | {100 * m['mAP']:.2f} ({100 * m['dmAP']:+.2f}) | "
                f"{100 * m['mINP']:.2f} ({100 * m['dmINP']:+.2f}) | {split} |"
            )
    return rows


def speed_rows(bench: dict[str, Any]) -> list[str]:
    rows = []
    base = {
        (e["modality"], e["batch"]): e["compute"]["images_per_s"]
        for e in bench["latency"]
        if (e["backend"], e["precision"]) == ("ort-cpu", "fp32")
    }
    for e in bench["latency"]:
        if e["backend"] != "ort-cpu":
            continue
        ips = e["compute"]["images_per_s"]
        ratio = ips / base[(e["modality"], e["batch"])]
        rows.append(
            f"| {e['precision']} | {e['modality']} | {e['batch']} | {e['compute']['p50_ms']:.1f} | {ips:.1f} | "
            f"{ratio:.2f}x |"
        )
    return rows


def main(folder: Path) -> None:
    print("# Precision on the demo ResNet-50 (generated data)\n")
    print(f"CPU: {cpu_line(folder)}\n")
    print("The generated dataset shows that deployment keeps what training learned; it says nothing about real")
    print("SYSU-MM01 or RegDB accuracy.\n")
    for manifest_path in sorted(folder.glob("manifest-seed*.json")):
        seed = manifest_path.stem.removeprefix("manifest-")
        manifest = json.loads(manifest_path.read_text())
        print(f"## {seed}\n\n### Export gates (evaluation images) and plans (training images)\n")
        print("| file | cos min | cos mean | gate | calibration | kept / candidates | search s | kept layers |")
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(gate_rows(manifest)))
        bench_path = folder / f"bench-{seed}" / "bench.json"
        if bench_path.is_file():
            bench = json.loads(bench_path.read_text())
            print("\n### Bench parity on the whole evaluation split (vs torch fp32)\n")
            print("| backend | cos min | cos mean | R1 % (Δ) | mAP % (Δ) | mINP % (Δ) | split |")
            print("|---|---|---|---|---|---|---|")
            print("\n".join(bench_rows(bench)))
            print("\n### ort-cpu compute latency, side by side in one process\n")
            print("| precision | branch | batch | p50 ms | img/s | vs fp32 |")
            print("|---|---|---|---|---|---|")
            print("\n".join(speed_rows(bench)))
        cost_path = folder / f"float-cost-{seed}.md"
        if cost_path.is_file():
            print("\n### What the layers kept in fp32 cost the CPU int8 graph (float_layer_cost.py)\n")
            print(cost_path.read_text().rstrip())
        print()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
