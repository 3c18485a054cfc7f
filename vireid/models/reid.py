"""TwoStreamReID: the paper's network, and the per-modality branches that evaluation and export use.

`model(visible, infrared)` runs both modalities through their own stems and attention and through the shared
stages as one concatenated batch `[visible; infrared]` (so shared BatchNorm sees both, as in the baseline) and
returns one `ReidOutput` in every mode. `model.branch(m)` is a single-input, single-output module (N x 3 x H x W
in [0, 1] -> N x D, L2-normalised) that shares the model's parameters; modality is structural, never a flag.
ImageNet normalisation lives inside, out of place, so exported graphs take [0, 1] images.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from vireid.config import ModelConfig
from vireid.data.sample import MODALITIES, Modality
from vireid.models.attention import build_attention
from vireid.models.backbone import ATTENTION_AFTER_STAGE, NUM_STAGES, ResNetStages, make_resnet, stage_channels
from vireid.models.head import PCBHead, embed

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ReidOutput(NamedTuple):
    """What the model returns for a batch, in train and eval mode alike."""

    part_features: torch.Tensor
    """N x parts x part_dim, before normalisation (the triplet losses use these)."""
    part_logits: torch.Tensor
    """N x parts x num_classes (the cross-entropy losses use these)."""
    embedding: torch.Tensor
    """N x (parts * part_dim), L2-normalised, float32 (retrieval uses this)."""


def _normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    # Out of place: callers' tensors are never modified. Normalised in float32, then cast to the weights' dtype.
    return (x.float() - mean) / std


def _first_weights_dtype(stages: ResNetStages) -> torch.dtype:
    """The dtype the first convolution computes in: what the normalised images are cast to.

    A half-precision model takes half inputs; a mixed-precision export (docs/architecture.md, "Precisions") may
    keep the stem in float32 while the rest is fp16, and then the images must reach it unrounded.
    """
    return next(stages.parameters()).dtype


class ReidBranch(nn.Module):
    """One modality's path through a TwoStreamReID; shares (does not copy) the model's modules."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, model: TwoStreamReID, modality: Modality) -> None:
        super().__init__()
        self.modality = modality
        self.share_from = model.config.share_from
        self.register_buffer("mean", model.mean, persistent=False)
        self.register_buffer("std", model.std, persistent=False)
        self.stem = model.stem(modality)
        self.attention = model.attention(modality)
        self.trunk = model.trunk
        self.head = model.head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = _normalise(images, self.mean, self.std).to(_first_weights_dtype(self.stem))
        for stage in range(NUM_STAGES):
            x = (self.stem if stage < self.share_from else self.trunk).run(stage, x)
            if stage == ATTENTION_AFTER_STAGE:
                x = self.attention(x)
        return embed(self.head.part_features(x))


class TwoStreamReID(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        specific = range(config.share_from)
        self.visible_stem = ResNetStages(make_resnet(config.backbone), specific)
        self.infrared_stem = ResNetStages(make_resnet(config.backbone), specific)
        self.trunk = ResNetStages(make_resnet(config.backbone), range(config.share_from, NUM_STAGES))
        mid_channels, out_channels = stage_channels(config.backbone)
        self.visible_attention, self.infrared_attention = build_attention(config, mid_channels)
        self.head = PCBHead(out_channels, config.parts, config.part_dim, config.gem_p, config.num_classes)

    def stem(self, modality: Modality) -> ResNetStages:
        return self.visible_stem if modality == "visible" else self.infrared_stem

    def attention(self, modality: Modality) -> nn.Module:
        return self.visible_attention if modality == "visible" else self.infrared_attention

    def branch(self, modality: Modality) -> ReidBranch:
        if modality not in MODALITIES:
            raise ValueError(f"modality must be 'visible' or 'infrared', got {modality!r}")
        return ReidBranch(self, modality)

    def forward(self, visible: torch.Tensor, infrared: torch.Tensor) -> ReidOutput:
        """Both modalities at once; the outputs are for the concatenated batch [visible; infrared]."""
        # share_from >= 1 (the config checks it): the stem always holds conv1.
        xv = _normalise(visible, self.mean, self.std).to(_first_weights_dtype(self.visible_stem))
        xi = _normalise(infrared, self.mean, self.std).to(_first_weights_dtype(self.infrared_stem))
        n_visible = xv.shape[0]
        joint: torch.Tensor | None = None  # the concatenated batch, once a shared stage is reached
        for stage in range(NUM_STAGES):
            if stage < self.config.share_from:
                xv = self.visible_stem.run(stage, xv)
                xi = self.infrared_stem.run(stage, xi)
            else:
                joint = self.trunk.run(stage, torch.cat([xv, xi]) if joint is None else joint)
            if stage == ATTENTION_AFTER_STAGE:
                if joint is not None:
                    xv, xi, joint = joint[:n_visible], joint[n_visible:], None
                xv = self.visible_attention(xv)
                xi = self.infrared_attention(xi)
        if joint is None:
            joint = torch.cat([xv, xi])
        part_features = self.head.part_features(joint)
        return ReidOutput(part_features, self.head.part_logits(part_features), embed(part_features))
