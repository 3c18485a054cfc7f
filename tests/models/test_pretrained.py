"""Backbone initialisation: local files, wrong architectures, offline ImageNet."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from tests.helpers import tiny_model_config
from vireid.errors import VireidError
from vireid.models import build_model


def test_pretrained_path_initialises_every_copy(tmp_path: Path) -> None:
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    model = build_model(tiny_model_config(pretrained=str(path)))
    for part in (model.visible_stem, model.infrared_stem):
        torch.testing.assert_close(part.conv1.weight, reference.conv1.weight)
    torch.testing.assert_close(model.trunk.layer3[0].conv1.weight, reference.layer3[0].conv1.weight)


def test_pretrained_for_another_architecture_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), path)
    with pytest.raises(VireidError, match=r"do not fit resnet18|not part of a torchvision resnet18"):
        build_model(tiny_model_config(pretrained=str(path)))


def test_pretrained_file_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "obj": Path("x")}, path)
    with pytest.raises(VireidError, match="cannot read pretrained weights"):
        build_model(tiny_model_config(pretrained=str(path)))


def test_missing_pretrained_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VireidError, match="does not exist"):
        build_model(tiny_model_config(pretrained=str(tmp_path / "nope.pth")))


def test_imagenet_offline_without_cache_says_how_to_provide_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*_args: object, **_kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(VireidError) as info:
        build_model(tiny_model_config(pretrained="imagenet"))
    message = str(info.value)
    assert "not cached" in message and str(tmp_path) in message and "model.pretrained" in message
