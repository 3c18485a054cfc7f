"""Image transforms of the training recipe (docs/architecture.md, "Training"): resize, pad 10 + random crop, flip.

Both transforms take the RGB PIL image of `vireid.data.images.load_image` and return a float32 tensor
3 x H x W in [0, 1]. ImageNet mean/std normalisation is *not* done here: it lives inside the model, so exported
graphs take [0, 1] images too. The resize runs on the PIL image (Pillow's bilinear filter, which always
antialiases), so a torch-free runtime reproduces `eval_transform` exactly with
`img.resize((width, height), Image.BILINEAR)` followed by `* float32(1 / 255)`.

The random steps draw from torch's global RNG; the trainer seeds it per item, which makes augmentation
reproducible independently of the number of DataLoader workers.
"""

from __future__ import annotations

import torch
from torchvision.transforms import InterpolationMode, v2


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
