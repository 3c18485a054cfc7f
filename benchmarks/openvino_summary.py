"""Summarise benchmarks/results/openvino: parity and batch-8 throughput of every backend x precision against
ONNX Runtime fp32, per seed, with the CPU flags the figures depend on, and the choice `auto` made.

Usage: python benchmarks/openvino_summary.py benchmarks/results/openvino > .../summary.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from vireid_runtime.bench_result import BenchResult, read_bench

BATCH = 8
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def throughput(bench: BenchResult, backend: str, precision: str, modality: str) -> float | None:
    for row in bench.latency:
        if (row.backend, row.precision, row.modality, row.batch) == (backend, precision, modality, BATCH):
            return row.compute.images_per_s
    return None


def rows(bench: BenchResult) -> list[str]:
    lines = []
    for entry in bench.parity:
        split = next(iter(entry.splits.values()))  # SYSU-MM01: one family, the 10-trial mean
        cells = [
            f"{entry.backend} {entry.precision}",
            f"{entry.figures.cos_min:.5f}",
            f"{entry.figures.bar.cos_min:g}",
            f"{100 * split.dR1:+.2f}",
            f"{100 * split.dmAP:+.2f}",
            "pass" if entry.passed else "FAIL",
        ]
        for modality in ("visible", "infrared"):
            base = throughput(bench, "ort-cpu", "fp32", modality)
            ips = throughput(bench, entry.backend, entry.precision, modality)
            cells.append("-" if ips is None or not base else f"{ips:.1f} ({ips / base:.2f}x)")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(folder: Path) -> None:
    print("# OpenVINO beside ONNX Runtime on the demo ResNet-50 (generated data)\n")
    print("The generated dataset shows that deployment keeps what training learned; it says nothing about real")
    print("SYSU-MM01 or RegDB accuracy.\n")
    for path in sorted(folder.glob("bench-seed*/bench.json")):
        bench = read_bench(path)
        machine = bench.environment.machine
        present = [flag for flag in FLAGS if flag in machine.cpu_flags]
        absent = [flag for flag in FLAGS if flag not in machine.cpu_flags]
        print(f"## {path.parent.name}\n")
        print(
            f"- machine: {machine.cpu}, {machine.cpu_count} cores; flags {' '.join(present) or '-'}; "
            f"without {' '.join(absent) or '-'}"
        )
        print(f"- versions: {', '.join(f'{k} {v}' for k, v in bench.environment.versions.items())}")
        print(f"- parity on {bench.evaluation}; reference: {bench.reference}")
        print(f"- throughput: compute images/s at batch {BATCH}, ratio to ort-cpu fp32 on the same branch\n")
        print("| backend | cos min | bar | ΔR1 | ΔmAP | parity | visible img/s | infrared img/s |")
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(rows(bench)))
        if bench.skipped:
            print()
            for skipped in bench.skipped:
                print(f"- skipped {skipped.backend} {skipped.precision}: {skipped.reason}")
        auto = path.parent.parent / f"auto-{path.parent.name.removeprefix('bench-')}.txt"
        if auto.is_file():
            print('\n`backend="auto"` from this bench:\n')
            for line in auto.read_text().splitlines():
                print(f"- {line}")
        print()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
