"""Training transforms: channel augmentation on visible images only, at its rates, reproducible under the seed."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from vireid.config import TrainConfig
from vireid.data.transforms import GREY_WEIGHTS, ChannelAugmentation, eval_transform, train_transforms
from vireid.errors import VireidError


def _colour_image() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand((3, 16, 8), generator=generator)


def _kind(out: torch.Tensor, image: torch.Tensor) -> str:
    if torch.equal(out, image):
        return "unchanged"
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2]), "three identical channels"
    for channel in range(3):
        if torch.equal(out[0], image[channel]):
            return f"channel {channel}"
    grey = sum(w * image[c] for c, w in enumerate(GREY_WEIGHTS))
    assert torch.allclose(out[0], grey, atol=1e-6)
    return "grey"


def test_the_output_is_one_channel_replicated_or_grey_at_the_configured_rates() -> None:
    image = _colour_image()
    augment = ChannelAugmentation(exchange=0.3, grey=0.2)
    torch.manual_seed(1)
    draws = 4000
    counts: dict[str, int] = {}
    for _ in range(draws):
        kind = _kind(augment(image), image)
        counts[kind] = counts.get(kind, 0) + 1
    exchanged = sum(v for k, v in counts.items() if k.startswith("channel"))
    assert exchanged / draws == pytest.approx(0.3, abs=0.03)
    assert counts["grey"] / draws == pytest.approx(0.2, abs=0.03)
    for channel in range(3):  # the channel is drawn uniformly
        assert counts[f"channel {channel}"] / exchanged == pytest.approx(1 / 3, abs=0.05)


def test_it_is_reproducible_under_the_seed() -> None:
    image = _colour_image()
    augment = ChannelAugmentation(exchange=0.5, grey=0.3)

    def run(seed: int) -> list[str]:
        torch.manual_seed(seed)
        return [_kind(augment(image), image) for _ in range(50)]

    assert run(3) == run(3) and run(3) != run(4)


def test_it_never_touches_infrared_images() -> None:
    picture = Image.new("RGB", (40, 80), (200, 40, 90))
    transforms = train_transforms(32, 16, pad=0, flip=False, exchange=1.0, grey=0.0)
    plain = eval_transform(32, 16)(picture)
    torch.manual_seed(0)
    visible = transforms["visible"](picture)
    torch.manual_seed(0)
    infrared = transforms["infrared"](picture)
    assert torch.equal(infrared, plain)  # no channel augmentation on the infrared path
    assert torch.equal(visible[0], visible[1]) and not torch.equal(visible, plain)  # always exchanged at p = 1
    off = train_transforms(32, 16, pad=0, flip=False)
    torch.manual_seed(0)
    assert torch.equal(off["visible"](picture), plain)  # off by default


def test_bad_probabilities_are_clear_errors() -> None:
    with pytest.raises(VireidError, match=r"train\.channel_aug"):
        TrainConfig(channel_aug=0.8, grey_aug=0.4)
    with pytest.raises(ValueError, match="sum to <= 1"):
        ChannelAugmentation(exchange=-0.1, grey=0.0)
