"""Image decoding, the train / eval transforms, and layout detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vireid.data.images import load_image
from vireid.data.layout import detect_layout
from vireid.data.transforms import eval_transform, train_transform
from vireid.errors import VireidError


@pytest.fixture
def colour_jpeg(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "0001.jpg"
    Image.fromarray(rng.integers(0, 256, size=(150, 70, 3), dtype=np.uint8)).save(path, quality=90)
    return path


def test_infrared_is_grey_replicated_and_visible_keeps_colour(colour_jpeg: Path) -> None:
    infrared = np.asarray(load_image(str(colour_jpeg), "infrared"))
    visible = np.asarray(load_image(str(colour_jpeg), "visible"))
    assert infrared.shape == visible.shape == (150, 70, 3)
    assert (infrared[..., 0] == infrared[..., 1]).all() and (infrared[..., 1] == infrared[..., 2]).all()
    assert np.abs(visible[..., 0].astype(int) - visible[..., 1]).mean() > 10
    grey = Image.open(colour_jpeg).convert("L")
    assert (np.asarray(load_image(str(colour_jpeg), "infrared"))[..., 0] == np.asarray(grey)).all()


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
def test_unreadable_images_name_the_path(colour_jpeg: Path, damage: str) -> None:
    data = colour_jpeg.read_bytes()
    colour_jpeg.write_bytes({"truncate": data[: len(data) // 2], "empty": b"", "garbage": b"not an image"}[damage])
    with pytest.raises(VireidError, match=str(colour_jpeg)):
        load_image(str(colour_jpeg), "visible")


def test_eval_transform_is_pillow_bilinear_in_unit_range(colour_jpeg: Path) -> None:
    image = load_image(str(colour_jpeg), "visible")
    tensor = eval_transform(128, 64)(image)
    assert tensor.dtype == torch.float32 and tensor.shape == (3, 128, 64)
    # What a torch-free runtime does: Pillow's bilinear resize, then / 255.
    reference = np.asarray(image.resize((64, 128), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    assert np.allclose(tensor.permute(1, 2, 0).numpy(), reference, atol=1e-6)


def test_train_transform_is_random_but_seeded(colour_jpeg: Path) -> None:
    image = load_image(str(colour_jpeg), "visible")
    transform = train_transform(128, 64)
    torch.manual_seed(0)
    first = [transform(image) for _ in range(4)]
    torch.manual_seed(0)
    again = [transform(image) for _ in range(4)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(not torch.equal(first[0], other) for other in first[1:])
    assert all(t.shape == (3, 128, 64) and t.min() >= 0.0 and t.max() <= 1.0 for t in first)
    plain = train_transform(128, 64, pad=0, flip=False)(image)
    assert torch.equal(plain, eval_transform(128, 64)(image))


def test_detect_layout(tmp_path: Path) -> None:
    (tmp_path / "sysu" / "cam1").mkdir(parents=True)
    (tmp_path / "regdb" / "idx").mkdir(parents=True)
    assert detect_layout(tmp_path / "sysu") == "sysu"
    assert detect_layout(tmp_path / "regdb") == "regdb"
    with pytest.raises(VireidError, match="does not exist"):
        detect_layout(tmp_path / "nowhere")
    (tmp_path / "archive" / "RegDB" / "idx").mkdir(parents=True)
    with pytest.raises(VireidError, match=r"did you mean .*RegDB\?"):
        detect_layout(tmp_path / "archive")
