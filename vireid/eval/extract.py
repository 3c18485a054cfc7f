"""Embedding extraction for any embedder: a torch branch, or a runtime backend (ONNX Runtime, TensorRT).

An embedder here is just a function `float32 N x 3 x H x W -> N x D`; the images go through the same loader
and eval transform (PIL bilinear resize, [0, 1]) whichever backend embeds them, so torch and deployed
backends are compared on identical inputs. Optional flip test-time augmentation averages an image's
embedding with its mirror's and re-normalises (docs/architecture.md, "Evaluation"; off by default, always reported).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from vireid.data.dataset import ImageListDataset
from vireid.data.sample import Sample
from vireid.data.transforms import eval_transform
from vireid.progress import progress

EmbedFn = Callable[[np.ndarray], np.ndarray]


def torch_embedder(branch: torch.nn.Module, device: str | torch.device = "cpu") -> EmbedFn:
    """Wrap a model branch as an `EmbedFn` (inference mode, float32 numpy out)."""
    branch = branch.eval().to(device)

    def embed(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return branch(torch.from_numpy(batch).to(device)).float().cpu().numpy()

    return embed


def l2_normalise(features: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return (features / np.maximum(norms, 1e-12)).astype(np.float32)


def extract_embeddings(
    embed: EmbedFn,
    samples: Sequence[Sample],
    height: int,
    width: int,
    *,
    batch_size: int = 64,
    flip: bool = False,
    workers: int = 0,
    description: str = "embedding",
    show_progress: bool | None = None,
) -> np.ndarray:
    """Embed `samples` in order -> float32 len(samples) x D, L2-normalised."""
    if not samples:
        raise ValueError(f"nothing to embed for {description}")
    loader = DataLoader(
        ImageListDataset(samples, eval_transform(height, width)),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
    )
    chunks = []
    with progress(len(samples), description, show_progress) as advance:
        for images, _ in loader:
            batch = images.numpy()
            features = embed(batch)
            if flip:
                features = features + embed(np.ascontiguousarray(batch[..., ::-1]))
            chunks.append(l2_normalise(features))
            advance(len(batch))
    return np.concatenate(chunks)
