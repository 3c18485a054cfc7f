"""SGD with two parameter groups: the backbone (stems, shared trunk, attention) and the part heads.

The baseline trains the pretrained backbone at 0.1x the learning rate of the newly initialised PCB heads. The
attention modules sit inside the backbone, between stage 2 and stage 3, and go with it: a 10x larger step on
gates that multiply pretrained features would disturb those features early in training.
"""

from __future__ import annotations

import torch

from vireid.config import TrainConfig
from vireid.engine.schedule import learning_rates
from vireid.models import TwoStreamReID


def build_optimizer(model: TwoStreamReID, cfg: TrainConfig) -> torch.optim.SGD:
    head = list(model.head.parameters())
    head_ids = {id(p) for p in head}
    backbone = [p for p in model.parameters() if id(p) not in head_ids]
    rates = learning_rates(0, cfg)
    groups = [
        {"params": backbone, "lr": rates["backbone"], "name": "backbone"},
        {"params": head, "lr": rates["head"], "name": "head"},
    ]
    return torch.optim.SGD(
        groups, lr=rates["head"], momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.nesterov
    )


def set_learning_rates(optimizer: torch.optim.Optimizer, epoch: int, cfg: TrainConfig) -> dict[str, float]:
    rates = learning_rates(epoch, cfg)
    for group in optimizer.param_groups:
        group["lr"] = rates[group["name"]]
    return rates
