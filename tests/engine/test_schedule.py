"""The learning-rate schedule equals the paper's numbers at epoch boundaries, for both param groups."""

from __future__ import annotations

import math

import pytest

from tests.helpers import tiny_model_config
from vireid.config import TrainConfig
from vireid.engine.optim import build_optimizer, set_learning_rates
from vireid.engine.schedule import learning_rates
from vireid.models import build_model

# (epoch, head lr, backbone lr): warm-up (e+1)/10 * 0.1 over epochs 0..9, 0.1 to 19, 0.01 to 49, then 0.001.
PAPER = [
    (0, 0.01, 0.001),
    (1, 0.02, 0.002),
    (4, 0.05, 0.005),
    (9, 0.1, 0.01),
    (10, 0.1, 0.01),
    (19, 0.1, 0.01),
    (20, 0.01, 0.001),
    (49, 0.01, 0.001),
    (50, 0.001, 0.0001),
    (59, 0.001, 0.0001),
]


@pytest.mark.parametrize(("epoch", "head", "backbone"), PAPER)
def test_schedule_matches_the_paper(epoch: int, head: float, backbone: float) -> None:
    rates = learning_rates(epoch, TrainConfig())
    assert math.isclose(rates["head"], head, rel_tol=1e-9)
    assert math.isclose(rates["backbone"], backbone, rel_tol=1e-9)


def test_optimizer_groups_get_the_scheduled_rates() -> None:
    model = build_model(tiny_model_config())
    cfg = TrainConfig()
    optimizer = build_optimizer(model, cfg)
    head_params = {id(p) for p in model.head.parameters()}
    groups = {g["name"]: g for g in optimizer.param_groups}
    assert {id(p) for p in groups["head"]["params"]} == head_params
    attention_params = {id(p) for p in model.visible_attention.parameters()}
    assert attention_params <= {id(p) for p in groups["backbone"]["params"]}
    assert len(groups["head"]["params"]) + len(groups["backbone"]["params"]) == len(list(model.parameters()))
    for epoch, head, backbone in PAPER:
        set_learning_rates(optimizer, epoch, cfg)
        assert math.isclose(groups["head"]["lr"], head, rel_tol=1e-9)
        assert math.isclose(groups["backbone"]["lr"], backbone, rel_tol=1e-9)
    assert optimizer.defaults["nesterov"] and optimizer.defaults["momentum"] == 0.9
    assert optimizer.defaults["weight_decay"] == 5e-4
