"""The learning-rate schedule of the hetero-center triplet baseline, which the paper keeps
(docs/architecture.md, "The paper", 4.3).

Per epoch, not per step: epoch e < warmup runs at base * (e + 1) / warmup; afterwards base * gamma^k where k is
the number of milestones reached. With the defaults (lr 0.1, warm-up 10, milestones 20 and 50, gamma 0.1) the
part heads run at 0.01, 0.02, ... 0.1 over epochs 0..9, 0.1 until 19, 0.01 until 49, then 0.001; the backbone
at 0.1x those values.
"""

from __future__ import annotations

from vireid.config import TrainConfig


def lr_factor(epoch: int, cfg: TrainConfig) -> float:
    """Multiplier of the base learning rate for 0-based `epoch`."""
    warm = (epoch + 1) / cfg.warmup_epochs if epoch < cfg.warmup_epochs else 1.0
    decays = sum(1 for milestone in cfg.milestones if epoch >= milestone)
    return warm * cfg.gamma**decays


def learning_rates(epoch: int, cfg: TrainConfig) -> dict[str, float]:
    """{"backbone": ..., "head": ...} for `epoch`."""
    head = cfg.lr * lr_factor(epoch, cfg)
    return {"backbone": head * cfg.backbone_lr_mult, "head": head}
