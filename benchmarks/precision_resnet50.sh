#!/usr/bin/env bash
# Reproduce benchmarks/results/precision: the precision issue's runs. The demo recipe with a ResNet-50
# (mgsa+msam, 96x48, 8 epochs) on a generated 40-identity SYSU-MM01 tree, trained twice (train seeds 0 and 1),
# each exported fp32,fp16,int8 with every gate on (no --no-verify), then benched on ort-cpu fp32 / fp16 / int8
# for parity (cosine, R1 / mAP / mINP deltas) and latency at batch 1 and 8, side by side in one process;
# float_layer_cost.py then times what the layers kept in fp32 cost the CPU int8 graph.
# On 2 Intel Xeon cores with AMX: training 2 minutes per run (bf16), the export 5.0 / 5.6 minutes (seeds 0 / 1;
# its gate judges every evaluation image; commit 43f6ecd took 8.8 minutes and 2304c60 10.6 on seed 0's run),
# the bench 1 minute.
# Time nothing else on the machine while it runs. REUSE_EXPORTS=1 benches existing exports again (bench only).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/vireid-precision}
out=benchmarks/results/precision
mkdir -p "$work" "$out"
lscpu | grep -E "^(Model name|Flags)" > "$out/cpu.txt"
if [ ! -d "$work/data" ]; then
  vireid data synth --layout sysu --ids 40 --seed 0 --out "$work/data"
fi
for seed in 0 1; do
  run="$work/run-seed$seed"
  if [ ! -f "$run/model.safetensors" ]; then
    vireid train --preset demo --set 'model.backbone="resnet50"' --set "train.seed=$seed" \
      --data "$work/data" --out "$run"
  fi
  if [ "${REUSE_EXPORTS:-0}" = 1 ] && [ -f "$work/artifacts-seed$seed/manifest.json" ]; then
    echo "seed $seed: reusing $work/artifacts-seed$seed (REUSE_EXPORTS=1); bench only"
  else
    start=$(date +%s)
    vireid export "$run" --out "$work/artifacts-seed$seed" --precision fp32,fp16,int8 --batch 1,8 --force \
      2>&1 | tee "$out/export-seed$seed.txt"
    echo "export seconds: $(( $(date +%s) - start ))" >> "$out/export-seed$seed.txt"
    cp "$work/artifacts-seed$seed/manifest.json" "$out/manifest-seed$seed.json"
  fi
  vireid bench "$work/artifacts-seed$seed" --out "$out/bench-seed$seed" --backends torch,ort-cpu,openvino \
    --precision fp32,fp16,bf16,int8 --batch 1,8 --runs 20 --warmup 3 --branch both
  python benchmarks/float_layer_cost.py "$work/artifacts-seed$seed" --batch 1,8 --runs 20 \
    > "$out/float-cost-seed$seed.md"
done
python benchmarks/precision_summary.py "$out" > "$out/summary.md"
