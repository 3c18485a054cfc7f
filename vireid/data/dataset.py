"""torch Datasets over reader samples: the cross-modal training set and a plain image list for evaluation.

The training set is indexed by `(visible index, infrared index, seed)` items from
`CrossModalIdentitySampler`; the seed fixes that item's augmentation (torch's RNG is seeded per item), so a
batch is the same whichever worker loads it. Labels are relabelled 0..N-1 here, over sorted identities.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch.utils.data import Dataset

from vireid.data.images import load_image
from vireid.data.sample import Sample
from vireid.data.sampler import TrainItem

Transform = Callable[..., torch.Tensor]


def relabel(samples: Sequence[Sample]) -> dict[int, int]:
    """Map dataset identities to class indices 0..N-1 in sorted order."""
    return {pid: label for label, pid in enumerate(sorted({s.pid for s in samples}))}


class CrossModalTrainSet(Dataset[tuple[torch.Tensor, torch.Tensor, int]]):
    def __init__(
        self,
        visible: Sequence[Sample],
        infrared: Sequence[Sample],
        labels: dict[int, int],
        transforms: Mapping[str, Transform],
    ) -> None:
        """`transforms`: one per modality ("visible", "infrared"; `transforms.train_transforms`)."""
        self.visible = list(visible)
        self.infrared = list(infrared)
        self.labels = labels
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.visible)

    def __getitem__(self, item: TrainItem) -> tuple[torch.Tensor, torch.Tensor, int]:
        visible_index, infrared_index, seed = item
        v, i = self.visible[visible_index], self.infrared[infrared_index]
        assert v.pid == i.pid, "the sampler pairs images of one identity"
        torch.manual_seed(seed)
        visible = self.transforms["visible"](load_image(v.path, "visible"))
        infrared = self.transforms["infrared"](load_image(i.path, "infrared"))
        return visible, infrared, self.labels[v.pid]


class ImageListDataset(Dataset[tuple[torch.Tensor, int]]):
    """Images in list order with a deterministic transform; yields (image, index)."""

    def __init__(self, samples: Sequence[Sample], transform: Transform) -> None:
        self.samples = list(samples)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample = self.samples[index]
        return self.transform(load_image(sample.path, sample.modality)), index
