"""The cross-modal identity sampler: batch composition, modality balance, coverage, determinism, DDP."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from vireid.data.sampler import CrossModalIdentitySampler

rng = np.random.default_rng(0)
VISIBLE_PIDS = [int(p) for p in rng.integers(0, 23, 400)]
INFRARED_PIDS = [int(p) for p in rng.integers(0, 23, 200)]


def _sampler(**changes: object) -> CrossModalIdentitySampler:
    values: dict[str, object] = {"ids_per_batch": 6, "images_per_id": 4, "seed": 3}
    values.update(changes)
    return CrossModalIdentitySampler(VISIBLE_PIDS, INFRARED_PIDS, **values)  # type: ignore[arg-type]


def test_batches_are_p_ids_times_k_visible_plus_k_infrared() -> None:
    sampler = _sampler()
    batches = list(sampler)
    assert len(batches) == len(sampler) == 400 // 24
    for batch in batches:
        assert len(batch) == 6 * 4
        visible_ids = [VISIBLE_PIDS[v] for v, _, _ in batch]
        infrared_ids = [INFRARED_PIDS[i] for _, i, _ in batch]
        assert visible_ids == infrared_ids  # each pair is one identity in both modalities
        counts = Counter(visible_ids)
        assert len(counts) == 6 and set(counts.values()) == {4}


def test_every_identity_appears_over_an_epoch() -> None:
    sampler = _sampler(batches_per_epoch=4)  # 4 batches x 6 ids = 24 >= 23 ids
    seen = {VISIBLE_PIDS[v] for batch in sampler for v, _, _ in batch}
    assert seen == set(VISIBLE_PIDS) & set(INFRARED_PIDS)


def test_epochs_are_reproducible_and_differ() -> None:
    a, b = _sampler(), _sampler()
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)
    b.set_epoch(3)
    assert list(a) != list(b)


def test_ranks_draw_their_own_batches_and_split_the_epoch() -> None:
    rank0 = _sampler(rank=0, world_size=2)
    rank1 = _sampler(rank=1, world_size=2)
    assert len(rank0) == len(rank1) == (400 // 24) // 2
    assert list(rank0) != list(rank1)


def test_too_few_identities_is_an_error() -> None:
    with pytest.raises(ValueError, match="fewer than ids_per_batch"):
        CrossModalIdentitySampler([0, 1], [0, 1], ids_per_batch=3, images_per_id=2)
