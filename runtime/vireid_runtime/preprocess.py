"""Preprocessing exactly as training evaluated: PIL bilinear resize to H x W, RGB, scaled to [0, 1], NCHW.

Infrared images are converted to grey and replicated to three channels, as the training data loader reads
them. Only numpy and pillow: this runs in torch-free deployment images. torchvision's Resize on a PIL image
calls the same PIL bilinear resize, so embeddings match the training-time evaluation bit for bit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from PIL import Image

from vireid_runtime.errors import ArtifactError
from vireid_runtime.manifest import Preprocessing

ImageLike = Image.Image | np.ndarray


def _to_pil(image: ImageLike, infrared: bool) -> Image.Image:
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"image arrays must be uint8 H x W (x 3), got dtype {image.dtype}")
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3)):
            image = Image.fromarray(image.squeeze(2) if image.ndim == 3 and image.shape[2] == 1 else image)
        else:
            raise ValueError(f"image arrays must be H x W or H x W x 3, got shape {image.shape}")
    if not isinstance(image, Image.Image):
        raise ValueError(f"expected a PIL image or a uint8 array, got {type(image).__name__}")
    return image.convert("L").convert("RGB") if infrared else image.convert("RGB")


_INV_255 = np.float32(1 / 255)
"""Scale by the float32 reciprocal, as torchvision's ToDtype(scale=True) does: bit-identical to training's
eval transform (dividing by 255 differs in the last bit for about a third of the pixel values)."""


IMPLEMENTED = Preprocessing()
"""The preprocessing this module performs; a manifest that asks for another is refused (`check_preprocessing`)."""


def check_preprocessing(wanted: Preprocessing) -> None:
    """ArtifactError unless the export's preprocessing is the one implemented here (mean/std live in the graph)."""
    mine = dataclasses.asdict(IMPLEMENTED)
    differs = [k for k, v in dataclasses.asdict(wanted).items() if k not in ("mean", "std") and v != mine[k]]
    if differs:
        raise ArtifactError(
            f"the export asks for preprocessing this runtime does not implement ({', '.join(differs)}); "
            "use the vireid version that exported it"
        )


def preprocess(images: Sequence[ImageLike], height: int, width: int, infrared: bool) -> np.ndarray:
    """PIL images or uint8 arrays -> float32 N x 3 x height x width in [0, 1]."""
    if len(images) == 0:
        raise ValueError("preprocess needs at least one image")
    batch = np.empty((len(images), 3, height, width), dtype=np.float32)
    for i, image in enumerate(images):
        resized = _to_pil(image, infrared).resize((width, height), Image.Resampling.BILINEAR)
        batch[i] = np.asarray(resized, dtype=np.float32).transpose(2, 0, 1) * _INV_255
    return batch
