"""A run directory of the paper's model (resnet50 288x144, mgsa+msam) for CPU export / bench measurements.

Training ResNet-50 at 288x144 on a 2-core CPU is out of reach (about 2 images/s), and no ImageNet weights are
available offline, so this builds the model with random weights and then re-estimates every BatchNorm's
running statistics on real (generated) images of each modality, so that no BatchNorm divides by a stale
variance. Latency does not depend on the weights' values, so the timings of this model are the paper model's.
Its accuracy figures are not: the embeddings carry little identity information, retrieval is near chance, and
int8 parity is far worse than on a trained network. A random network whose BatchNorm really normalises is
chaotic: a small perturbation such as quantisation noise grows layer after layer (the gradient explosion of
BatchNorm at initialisation, Yang et al., ICLR 2019). Measured on the visible branch at 96x48, u8s8, 32
calibration images: resnet50 with recalibrated BatchNorm reaches cosine min 0.44 to fp32 (resnet18: 0.92),
the same resnet50 with its initial BatchNorm statistics 0.998 (but then every image gets nearly the same
embedding), and the trained demo resnet18 0.999. Judge int8 accuracy on a trained run.

usage: python benchmarks/make_resnet50_run.py DATA_ROOT RUN_DIR [IMAGES]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from vireid.config import DataConfig, ModelConfig, RunConfig
from vireid.data.images import load_image
from vireid.data.sysu import SYSUMM01
from vireid.data.transforms import eval_transform
from vireid.io.rundir import save_run
from vireid.models import build_model


def main() -> None:
    data, run = Path(sys.argv[1]), Path(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 48
    config = RunConfig(
        model=ModelConfig(backbone="resnet50", attention="mgsa+msam", height=288, width=144, pretrained=None),
        data=DataConfig(root=str(data.resolve())),
    )
    torch.manual_seed(0)
    model = build_model(config.model)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over all batches
    transform = eval_transform(288, 144)
    samples = SYSUMM01(data).train_samples()
    visible = [s for s in samples if s.modality == "visible"][:count]
    infrared = [s for s in samples if s.modality == "infrared"][:count]
    model.train()
    with torch.no_grad():
        for start in range(0, count, 8):
            xv = torch.stack([transform(load_image(s.path, s.modality)) for s in visible[start : start + 8]])
            xi = torch.stack([transform(load_image(s.path, s.modality)) for s in infrared[start : start + 8]])
            model(xv, xi)
    save_run(run, config, model.eval())
    print(f"wrote {run} (BatchNorm statistics from {count} visible + {count} infrared images)")


if __name__ == "__main__":
    main()
