#!/usr/bin/env bash
# Reproduce benchmarks/results/cpu: the paper's model (resnet50 288x144, mgsa+msam) exported to ONNX fp32 and
# int8 and benched against torch eager on this machine's CPU, batch 1 and 8, side by side in one process.
# About 15 minutes on 2 cores. See benchmarks/README.md for what the numbers mean.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/vireid-cpu-bench}
out=benchmarks/results/cpu
mkdir -p "$work" "$out"
vireid data synth --layout sysu --out "$work/data" --ids 30 --seed 5 --force
python benchmarks/make_resnet50_run.py "$work/data" "$work/run"
# --no-verify: the random-weight stand-in misses the int8 bar by construction (see make_resnet50_run.py); the
# fp32 figures in export.txt must still read "ok". int8 accuracy is measured on the trained demo model instead.
vireid export "$work/run" --out "$work/artifacts" --precision fp32,int8 --batch 1,8 --force --no-verify \
  | tee "$out/export.txt"
vireid bench "$work/artifacts" --out "$out" --backends torch,ort-cpu --precision fp32,int8 --batch 1,8 \
  --runs 20 --warmup 3 --branch visible
