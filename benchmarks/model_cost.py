"""Parameter count and single-branch CPU latency (batch 1) of the paper's model for each attention variant.

resnet50 at 288x144 (the paper's setting). Latency: eval mode, no grad, 3 warm-up passes then the median of N
timed passes of `model.branch("visible")` and `model.branch("infrared")`, all variants measured in one
process one after the other, so their ratios are comparable on a shared machine.

usage: python benchmarks/model_cost.py [RUNS] [TRAIN_STEPS]
TRAIN_STEPS > 0 also times that many training steps of the paper's batch (P x K = 6 x 8, so 96 images)
for the mgsa+msam model and reports training images/s.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from vireid.config import ATTENTION_VARIANTS, ModelConfig, TrainConfig
from vireid.engine.optim import build_optimizer
from vireid.losses import hetero_center_triplet, part_cross_entropy
from vireid.models import build_model


def branch_latency(model: torch.nn.Module, runs: int) -> float:
    x = torch.rand(1, 3, 288, 144)
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def training_rate(steps: int) -> float:
    cfg = ModelConfig(backbone="resnet50", attention="mgsa+msam")
    model = build_model(cfg).train().to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, TrainConfig())
    labels = torch.arange(6).repeat_interleave(8)
    both = torch.cat([labels, labels])
    modalities = torch.cat([torch.zeros(48, dtype=torch.long), torch.ones(48, dtype=torch.long)])
    elapsed = []
    for step in range(steps + 1):
        xv = torch.rand(48, 3, 288, 144).to(memory_format=torch.channels_last)
        xi = torch.rand(48, 3, 288, 144).to(memory_format=torch.channels_last)
        start = time.perf_counter()
        out = model(xv, xi)
        loss = part_cross_entropy(out.part_logits, both) + hetero_center_triplet(
            out.part_features.flatten(1), both, modalities
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step:  # the first step pays one-off allocation costs
            elapsed.append(time.perf_counter() - start)
    return 96 / statistics.mean(elapsed)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    train_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; resnet50 288x144, batch 1, median of {runs}")
    print(f"{'attention':<10} {'params (M)':>10} {'branch params (M)':>18} {'visible ms':>11} {'infrared ms':>12}")
    for attention in ATTENTION_VARIANTS:
        model = build_model(ModelConfig(backbone="resnet50", attention=attention)).eval()
        total = sum(p.numel() for p in model.parameters()) / 1e6
        branch = model.branch("visible")
        branch_params = sum(p.numel() for p in branch.parameters()) / 1e6
        visible = branch_latency(branch, runs)
        infrared = branch_latency(model.branch("infrared"), runs)
        print(f"{attention:<10} {total:>10.2f} {branch_params:>18.2f} {visible:>11.1f} {infrared:>12.1f}")
    if train_steps:
        print(f"training (mgsa+msam, P x K = 6 x 8, fp32, channels_last): {training_rate(train_steps):.2f} images/s")


if __name__ == "__main__":
    main()
