"""Cross-modal identity sampler: every batch is P identities x (K visible + K infrared) images.

As in the hetero-center triplet baseline, identities are drawn without replacement within a batch and images
with replacement within an identity, so each batch holds both modalities of every identity it names — what
the hetero-center loss needs (a centre per identity and modality). Unlike the baseline, each epoch walks
shuffled passes over all identities, so every identity appears at least once per epoch; the epoch length
defaults to the baseline's max(visible, infrared images) // (P * K).

Randomness comes only from (seed, epoch, rank), and every item carries its own augmentation seed, so an
epoch is reproducible whatever the number of workers and a resumed run draws exactly the batches the
interrupted one would have. Under DDP each rank draws its own batches (`rank` changes the stream) and gets
1/world_size of the epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

TrainItem = tuple[int, int, int]
"""(visible index, infrared index, augmentation seed)."""


class CrossModalIdentitySampler:
    """A batch sampler for `CrossModalTrainSet`; yields lists of P * K `TrainItem`s."""

    def __init__(
        self,
        visible_pids: Sequence[int],
        infrared_pids: Sequence[int],
        ids_per_batch: int,
        images_per_id: int,
        batches_per_epoch: int = 0,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.visible_by_id = _indices_by_id(visible_pids)
        self.infrared_by_id = _indices_by_id(infrared_pids)
        self.ids = sorted(set(self.visible_by_id) & set(self.infrared_by_id))
        if len(self.ids) < ids_per_batch:
            raise ValueError(
                f"{len(self.ids)} identities have images in both modalities, fewer than ids_per_batch={ids_per_batch}"
            )
        self.ids_per_batch = ids_per_batch
        self.images_per_id = images_per_id
        total = batches_per_epoch or max(len(visible_pids), len(infrared_pids)) // (ids_per_batch * images_per_id)
        self.num_batches = max(1, total // world_size)
        self.seed = seed
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches

    def _identity_batches(self, rng: np.random.Generator) -> Iterator[list[int]]:
        """Endless batches of P distinct ids: shuffled passes over all ids, a short tail topped up."""
        ids = np.asarray(self.ids)
        while True:
            order = rng.permutation(ids)
            for start in range(0, len(order), self.ids_per_batch):
                chosen = [int(i) for i in order[start : start + self.ids_per_batch]]
                if len(chosen) < self.ids_per_batch:
                    others = np.setdiff1d(ids, chosen)
                    extra = rng.choice(others, self.ids_per_batch - len(chosen), replace=False)
                    chosen.extend(int(i) for i in extra)
                yield chosen

    def __iter__(self) -> Iterator[list[TrainItem]]:
        rng = np.random.default_rng([self.seed, self.epoch, self.rank])
        identity_batches = self._identity_batches(rng)
        for _ in range(self.num_batches):
            batch: list[TrainItem] = []
            for pid in next(identity_batches):
                visible = rng.choice(self.visible_by_id[pid], self.images_per_id, replace=True)
                infrared = rng.choice(self.infrared_by_id[pid], self.images_per_id, replace=True)
                seeds = rng.integers(0, 2**62, self.images_per_id)
                batch.extend((int(v), int(i), int(s)) for v, i, s in zip(visible, infrared, seeds, strict=True))
            yield batch


def _indices_by_id(pids: Sequence[int]) -> dict[int, np.ndarray]:
    grouped: dict[int, list[int]] = {}
    for index, pid in enumerate(pids):
        grouped.setdefault(int(pid), []).append(index)
    return {pid: np.asarray(indices) for pid, indices in grouped.items()}
