#!/usr/bin/env bash
# The NVIDIA path in one command, on a bare GPU machine: PyTorch with CUDA is enough; TensorRT, onnxruntime-gpu
# and cuda-python are used when present and reported missing otherwise. Nothing is downloaded or installed:
# vireid is imported from this checkout through PYTHONPATH.
#
# Steps (each bounded by a timeout, 11 minutes at the very worst, about 5 expected on an H100/H200; a timeout
# exits 124). The exit status is non-zero when the GPU tests or any step failed:
#   1. environment.txt: GPU, driver, and which of the optional packages import;
#   2. pytest-gpu.log: the `gpu` / `trt` tests (they skip, with their reason, what the machine lacks);
#   3. a demo-size run (generated data, a short demo-preset training), exported (with TensorRT plans when
#      TensorRT imports) and benched on every backend that loads, torch on CUDA: bench.md, bench.json.
#
# usage: bash benchmarks/gpu_check.sh OUT_DIR
set -uo pipefail
out=${1:?usage: gpu_check.sh OUT_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$repo:$repo/export:$repo/runtime${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-python3}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if ! timeout 60 "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "gpu_check: no CUDA GPU here (torch is missing or torch.cuda.is_available() is False); run it on an NVIDIA machine" >&2
  exit 2
fi

step() { printf '\n=== %s (t+%ss)\n' "$*" "$SECONDS"; }

step "environment"
timeout 60 "$py" - "$out/environment.txt" <<'PY'
import importlib, sys
import torch
lines = [f"gpu: {torch.cuda.get_device_name(0)} (sm_{''.join(map(str, torch.cuda.get_device_capability(0)))}), "
         f"torch {torch.__version__}, CUDA {torch.version.cuda}"]
missing = []
for module, role in (
    ("tensorrt", "native trt backend and --engine trt"),
    ("cuda.bindings.runtime", "cuda-python: device queries of the trt backend"),
    ("onnxruntime", "ONNX Runtime (ort-cpu; onnxruntime-gpu adds ort-cuda / ort-trt)"),
    ("onnx", "graphs"), ("onnxscript", "the dynamo exporter"), ("typer", "the CLI"), ("rich", "the CLI"),
    ("safetensors", "weights"), ("pytest", "the GPU tests"),
):
    try:
        found = importlib.import_module(module)
        version = getattr(found, "__version__", "")
        extra = ""
        if module == "onnxruntime":
            extra = " providers " + ",".join(found.get_available_providers())
        lines.append(f"{module}: {version}{extra}")
    except Exception as err:  # a broken install is as missing as an absent one
        missing.append(module)
        lines.append(f"{module}: MISSING ({role}): {type(err).__name__}")
text = "\n".join(lines) + "\n"
open(sys.argv[1], "w").write(text)
print(text, end="")
if missing:
    print(f"missing: {', '.join(missing)} (their steps are skipped or run without them)")
PY
has() { timeout 60 "$py" -c "import $1" 2>/dev/null; }

step "GPU tests (pytest -m 'gpu or trt')"
if has pytest; then
  (cd "$repo" && timeout 240 "$py" -m pytest -m "gpu or trt" -ra -q -p no:cacheprovider tests) \
    > "$out/pytest-gpu.log" 2>&1
  tests_rc=$?
  echo "pytest exit $tests_rc ($(tail -n 1 "$out/pytest-gpu.log"))"
else
  tests_rc=1
  echo "pytest is missing: GPU tests not run" | tee "$out/pytest-gpu.log"
fi

step "demo-size run: generate, train, export, bench"
if ! has typer || ! has safetensors || ! has onnxscript; then
  echo "typer, safetensors or onnxscript is missing: the CLI steps cannot run here"
  exit 1
fi
work="$out/work"
run_vireid() { timeout "$1" "$py" -m vireid "${@:2}"; }
run_vireid 30 data synth --layout sysu --ids 16 --seed 0 --out "$work/data" --force || exit $?
run_vireid 90 train --preset demo --data "$work/data" --out "$work/run" --force --set train.epochs=3 \
  --set train.batches_per_epoch=8 --set train.warmup_epochs=1 "--set=train.milestones=[2]" || exit $?
engine=onnx
has tensorrt && engine=trt
run_vireid 150 export "$work/run" --out "$work/artifacts" --engine "$engine" --precision fp32,fp16,int8 \
  --batch 1,8,32 --calib-count 32 --search-pool 64 --search-images 32 --search-budget 60 \
  --calibration "percentile 99.99" --force || exit $?
run_vireid 90 bench "$work/artifacts" --out "$out" --backends torch,ort-cpu,ort-cuda,ort-trt,trt --device cuda \
  --batch 1,8,32 --runs 20 --warmup 5 || exit $?
step "done: $out/bench.md, bench.json, pytest-gpu.log, environment.txt"
exit "$tests_rc"  # the run is only green when the GPU tests were
