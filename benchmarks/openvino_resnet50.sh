#!/usr/bin/env bash
# Reproduce benchmarks/results/openvino: OpenVINO beside ONNX Runtime on the precision issue's trained ResNet-50
# exports (benchmarks/precision_resnet50.sh makes them: mgsa+msam, 96x48, train seeds 0 and 1, every gate on).
# Per seed: `vireid bench` with torch, ort-cpu and openvino at fp32, bf16 and int8, batch 1 and 8, both branches,
# side by side in one process, written into the artifact folder (where `backend="auto"` reads it) and copied
# here; then the choice `auto` makes from it. About 10 minutes on 2 cores. Time nothing else meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/vireid-precision}
out=benchmarks/results/openvino
mkdir -p "$out"
lscpu | grep -E "^(Model name|Flags)" > "$out/cpu.txt"
for seed in 0 1; do
  art="$work/artifacts-seed$seed"
  if [ ! -f "$art/manifest.json" ]; then
    echo "no export in $art: run benchmarks/precision_resnet50.sh first (or set WORK)" >&2
    exit 1
  fi
  vireid bench "$art" --backends torch,ort-cpu,openvino --precision fp32,bf16,int8 --batch 1,8 \
    --runs 20 --warmup 3 --branch both
  mkdir -p "$out/bench-seed$seed"
  cp "$art/bench.json" "$art/bench.md" "$art/bench.png" "$out/bench-seed$seed/"
  python - "$art" > "$out/auto-seed$seed.txt" <<'PY'
import sys
from vireid_runtime import load_embedder
for modality in ("visible", "infrared"):
    load_embedder(sys.argv[1], modality, "auto", log=print).close()
PY
done
python benchmarks/openvino_summary.py "$out" > "$out/summary.md"
cat "$out/summary.md"
