"""BatchNorm folds into the convolutions in float32 without changing what the branch computes."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.helpers import TINY_HEIGHT, TINY_WIDTH, randomise_batchnorm, tiny_model_config
from vireid.models import TwoStreamReID
from vireid_export.batchnorm import fold_batchnorm


def _model_with_large_statistics() -> TwoStreamReID:
    """Running statistics like the trained infrared stem's (means near 290): the case fp16 folding gets wrong."""
    torch.manual_seed(0)
    model = TwoStreamReID(tiny_model_config()).eval()
    randomise_batchnorm(model)
    with torch.no_grad():
        for stem in (model.visible_stem, model.infrared_stem):
            bn = stem.bn1
            bn.running_mean.uniform_(-300.0, 300.0)
            bn.running_var.uniform_(10.0, 40.0)
            bn.bias.copy_(bn.running_mean * bn.weight / bn.running_var.sqrt())  # a small difference of large terms
    return model


def test_folding_removes_every_batchnorm_and_keeps_the_output() -> None:
    model = _model_with_large_statistics()
    folded = copy.deepcopy(model)
    count = fold_batchnorm(folded)
    assert count == sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    images = torch.rand(3, 3, TINY_HEIGHT, TINY_WIDTH)
    with torch.no_grad():
        for modality in ("visible", "infrared"):
            expected = model.branch(modality)(images)
            torch.testing.assert_close(folded.branch(modality)(images), expected, rtol=0, atol=1e-5)


def test_a_training_mode_model_is_refused() -> None:
    with pytest.raises(ValueError, match="eval-mode"):
        fold_batchnorm(TwoStreamReID(tiny_model_config()).train())
