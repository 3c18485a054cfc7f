"""Image transforms of the training recipe (docs/architecture.md, "Training"): resize, pad 10 + random crop, flip,
and, for visible images only, channel augmentation.

Both transforms take the RGB PIL image of `vireid.data.images.load_image` and return a float32 tensor
3 x H x W in [0, 1]. ImageNet mean/std normalisation is *not* done here: it lives inside the model, so exported
graphs take [0, 1] images too. The resize runs on the PIL image (Pillow's bilinear filter, which always
antialiases), so a torch-free runtime reproduces `eval_transform` exactly with
`img.resize((width, height), Image.BILINEAR)` followed by `* float32(1 / 255)`.

The random steps draw from torch's global RNG; the trainer seeds it per item, which makes augmentation
reproducible independently of the number of DataLoader workers.

Transforms are per modality (`train_transforms`): channel augmentation, from the CAJ family of VI-ReID methods
(Ye et al., ICCV 2021), replaces a visible image by one of its colour channels replicated (random channel
exchange) or by its grey image, so the network cannot rely on colour, which infrared images never show. It must
never touch infrared images, which are grey already.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchvision.transforms import InterpolationMode, v2

GREY_WEIGHTS = (0.299, 0.587, 0.114)
"""ITU-R 601-2 luma, as PIL's "L" (the weights infrared images are read with)."""


def _to_float() -> list[v2.Transform]:
    return [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]


def train_transform(height: int, width: int, pad: int = 10, flip: bool = True) -> v2.Compose:
    """Resize to height x width, zero-pad `pad` pixels, random crop back to height x width, random flip."""
    steps: list[v2.Transform] = [
        v2.Resize((height, width), interpolation=InterpolationMode.BILINEAR, antialias=True),
        v2.Pad(pad, fill=0),
        v2.RandomCrop((height, width)),
    ]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps + _to_float())


def eval_transform(height: int, width: int) -> v2.Compose:
    """Resize to height x width; no randomness."""
    steps: list[v2.Transform] = [v2.Resize((height, width), interpolation=InterpolationMode.BILINEAR, antialias=True)]
    return v2.Compose(steps + _to_float())


class ChannelAugmentation(torch.nn.Module):
    """With probability `exchange`, one of the three channels (uniformly) replicated to all three; else with
    probability `grey`, the luma grey image replicated; else the image unchanged. Takes and returns float
    3 x H x W tensors; draws from torch's global RNG (seeded per item by the training set)."""

    def __init__(self, exchange: float, grey: float) -> None:
        super().__init__()
        if exchange < 0 or grey < 0 or exchange + grey > 1:
            raise ValueError(f"channel augmentation probabilities must be >= 0 and sum to <= 1, got {exchange}, {grey}")
        self.exchange, self.grey = exchange, grey

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        draw = float(torch.rand(()))
        if draw < self.exchange:
            channel = int(torch.randint(3, ()))
            return image[channel : channel + 1].expand(3, -1, -1).clone()
        if draw < self.exchange + self.grey:
            weights = torch.tensor(GREY_WEIGHTS, dtype=image.dtype).view(3, 1, 1)
            return (image * weights).sum(dim=0, keepdim=True).expand(3, -1, -1).clone()
        return image


def train_transforms(
    height: int, width: int, pad: int = 10, flip: bool = True, *, exchange: float = 0.0, grey: float = 0.0
) -> dict[str, Callable[..., torch.Tensor]]:
    """One training transform per modality: both share resize, pad + crop and flip; the visible one adds
    channel augmentation when either probability is above 0."""
    visible = train_transform(height, width, pad, flip)
    if exchange > 0 or grey > 0:
        visible = v2.Compose([visible, ChannelAugmentation(exchange, grey)])
    return {"visible": visible, "infrared": train_transform(height, width, pad, flip)}
