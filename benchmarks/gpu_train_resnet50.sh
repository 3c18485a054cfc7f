#!/usr/bin/env bash
# Train the paper's model (resnet50 288x144, mgsa+msam) on a generated SYSU-MM01-layout set on one GPU, from
# scratch (no ImageNet weights offline), and report training images/s with AMP + channels_last.
# The result is a run directory whose weights make the export / bench numbers of the closing notes meaningful
# (a trained model, not random weights). The generated data says nothing about real-data accuracy.
#
# usage: bash benchmarks/gpu_train_resnet50.sh OUT_DIR [IDS] [EPOCHS]
set -euo pipefail
out=${1:?usage: gpu_train_resnet50.sh OUT_DIR [IDS] [EPOCHS]}
ids=${2:-200}
epochs=${3:-12}
python3 -m vireid data synth --layout sysu --out "$out/data" --ids "$ids" --seed 3 --workers "$(nproc)" --force
# From scratch the paper's lr 0.1 and triplet weights collapse the features (see vireid/presets/demo.toml);
# everything else is the sysu-mgsa-msam preset.
python3 -m vireid train --preset sysu-mgsa-msam --data "$out/data" --out "$out/run" --force \
  --set "model.pretrained='none'" --set train.lr=0.03 --set train.backbone_lr_mult=1.0 \
  --set train.w_triplet=0.1 --set train.w_center=0.1 --set "train.epochs=$epochs" --set train.warmup_epochs=2 \
  --set "train.milestones=[$((epochs * 2 / 3)), $((epochs - 1))]" --set train.eval_every=4 \
  --set "data.workers=$(( $(nproc) > 12 ? 12 : $(nproc) ))"
python3 -m vireid eval "$out/run" --trials 10 --device "$(python3 -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')"
python3 - "$out/run/metrics.jsonl" <<'PY'
import json, sys
epochs = [json.loads(l) for l in open(sys.argv[1]) if '"event": "epoch"' in l]
rates = [e["images_per_s"] for e in epochs[1:]] or [epochs[0]["images_per_s"]]
print(f"training images/s (epochs 2..{len(epochs)}): mean {sum(rates) / len(rates):.0f}, max {max(rates):.0f}")
PY
