"""Losses: hetero-center triplet against a hand computation, batch-order independence, part CE."""

from __future__ import annotations

import math

import torch

from vireid.losses import hetero_center_triplet, part_cross_entropy


def test_hetero_center_triplet_hand_computed() -> None:
    # Two ids, two images per (id, modality), 1-D features for easy arithmetic.
    features = torch.tensor([[0.0], [2.0], [4.0], [6.0], [1.0], [3.0], [9.0], [11.0]])
    labels = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])
    modalities = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    # centres: (0,vis)=1, (1,vis)=5, (0,ir)=2, (1,ir)=10
    # (0,vis): ap=|1-2|=1, an=min(|1-5|,|1-10|)=4 -> relu(1-4+0.3)=0
    # (1,vis): ap=|5-10|=5, an=min(|5-1|,|5-2|)=3 -> 5-3+0.3=2.3
    # (0,ir):  ap=1, an=min(|2-5|,|2-10|)=3 -> 0
    # (1,ir):  ap=5, an=min(|10-1|,|10-2|)=8 -> 0
    loss = hetero_center_triplet(features, labels, modalities, margin=0.3)
    assert math.isclose(loss.item(), 2.3 / 4, rel_tol=1e-5)


def test_hetero_center_triplet_is_independent_of_batch_order() -> None:
    torch.manual_seed(0)
    features = torch.randn(24, 16)
    labels = torch.arange(4).repeat_interleave(3).repeat(2)
    modalities = torch.tensor([0] * 12 + [1] * 12)
    reference = hetero_center_triplet(features, labels, modalities)
    assert reference.item() > 0
    for _ in range(5):
        order = torch.randperm(24)
        permuted = hetero_center_triplet(features[order], labels[order], modalities[order])
        torch.testing.assert_close(permuted, reference)


def test_hetero_center_triplet_gradient_is_finite_with_identical_centres() -> None:
    features = torch.zeros(8, 4, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])
    modalities = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    loss = hetero_center_triplet(features, labels, modalities)
    loss.backward()
    assert torch.isfinite(features.grad).all()
    assert math.isclose(loss.item(), 0.3, rel_tol=1e-3)


def test_part_cross_entropy_sums_over_parts_with_label_smoothing() -> None:
    torch.manual_seed(0)
    logits = torch.randn(5, 3, 7)
    labels = torch.randint(0, 7, (5,))
    expected = sum(torch.nn.functional.cross_entropy(logits[:, p], labels, label_smoothing=0.1) for p in range(3))
    torch.testing.assert_close(part_cross_entropy(logits, labels, label_smoothing=0.1), expected)
