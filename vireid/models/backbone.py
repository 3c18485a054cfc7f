"""Two-stream ResNet backbone pieces with torchvision-compatible parameter names.

A ResNet is five stages: 0 = stem (conv1, bn1, relu, maxpool), 1..4 = layer1..layer4. With `share_from = s`
(docs/architecture.md, "The model"), stages 0..s-1 exist once per modality and stages s..4 are shared. Each piece keeps
torchvision's child names, so an ImageNet `resnet50().state_dict()` loads into every copy. The last stride is
1 (docs/architecture.md, "The paper", 4.3), which doubles the layer4 map to H/16 x W/16.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torchvision
from torch import nn

STAGE_CHILDREN: tuple[tuple[str, ...], ...] = (
    ("conv1", "bn1", "relu", "maxpool"),
    ("layer1",),
    ("layer2",),
    ("layer3",),
    ("layer4",),
)
NUM_STAGES = len(STAGE_CHILDREN)
ATTENTION_AFTER_STAGE = 2
"""The paper inserts its attention between ResNet stage 2 and stage 3 (docs/architecture.md, "The paper")."""


def make_resnet(name: str) -> torchvision.models.ResNet:
    """A randomly initialised torchvision ResNet with last stride 1 (no fc use downstream)."""
    builder = getattr(torchvision.models, name)
    net: torchvision.models.ResNet = builder(weights=None)
    first = net.layer4[0]
    # Bottleneck strides in conv2 (torchvision's v1.5), BasicBlock in conv1.
    strided = first.conv2 if isinstance(first, torchvision.models.resnet.Bottleneck) else first.conv1
    strided.stride = (1, 1)
    assert first.downsample is not None
    first.downsample[0].stride = (1, 1)
    return net


def stage_channels(name: str) -> tuple[int, int]:
    """(channels after layer2, channels after layer4) for a ResNet depth."""
    return (512, 2048) if name == "resnet50" else (128, 512)


class ResNetStages(nn.Module):
    """A contiguous run of ResNet stages, holding the torchvision children under their own names."""

    def __init__(self, resnet: torchvision.models.ResNet, stages: Iterable[int]) -> None:
        super().__init__()
        self.stages = tuple(stages)
        for stage in self.stages:
            for child in STAGE_CHILDREN[stage]:
                self.add_module(child, getattr(resnet, child))

    def run(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        for child in STAGE_CHILDREN[stage]:
            x = getattr(self, child)(x)
        return x

    def torchvision_keys(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The entries of a torchvision ResNet state_dict that belong to the stages held here."""
        mine = {child for stage in self.stages for child in STAGE_CHILDREN[stage]}
        return {key: value for key, value in state_dict.items() if key.split(".", 1)[0] in mine}
