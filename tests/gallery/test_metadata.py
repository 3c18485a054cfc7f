"""Where a crop's metadata comes from: sidecar CSV / JSON (relative paths, one-line errors), options, layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from vireid.errors import VireidError
from vireid.gallery.metadata import CropSource, from_options, from_sidecar


def _images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i}.png" for i in range(count)]
    for path in paths:
        Image.new("RGB", (8, 16)).save(path)
    return paths


def test_csv_and_json_sidecars_give_the_same_crops(tmp_path: Path) -> None:
    _images(tmp_path / "crops", 2)
    (tmp_path / "crops.csv").write_text(
        "path,modality,camera,time,track,identity\ncrops/0.png,infrared,gate-3,1700000000,17,0\ncrops/1.png,visible,,,,\n"
    )
    records = [
        {
            "path": "crops/0.png",
            "modality": "infrared",
            "camera": "gate-3",
            "time": 1700000000,
            "track": 17,
            "identity": 0,
        },
        {"path": str(tmp_path / "crops/1.png"), "modality": "visible"},
    ]
    (tmp_path / "crops.json").write_text(json.dumps(records))
    expected = [
        CropSource(tmp_path / "crops/0.png", "infrared", "gate-3", 1700000000, 17, 0),  # identity 0 is a person
        CropSource(tmp_path / "crops/1.png", "visible"),
    ]
    assert from_sidecar(tmp_path / "crops.csv") == expected
    assert from_sidecar(tmp_path / "crops.json") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path,modality\ncrops/0.png,thermal\n", "record 1: .*modality must be visible or infrared"),
        ("path,camera\ncrops/0.png,c1\n", "record 1: .*needs path and modality"),
        ("path,modality\ncrops/9.png,visible\n", "names .*9.png, which does not exist"),
    ],
)
def test_a_bad_sidecar_is_one_line_naming_the_record(tmp_path: Path, text: str, message: str) -> None:
    _images(tmp_path / "crops", 1)
    (tmp_path / "s.csv").write_text(text)
    with pytest.raises(VireidError, match=message) as refused:
        from_sidecar(tmp_path / "s.csv")
    assert "\n" not in str(refused.value)


def test_images_by_path_need_a_modality(tmp_path: Path) -> None:
    paths = _images(tmp_path, 1)
    with pytest.raises(VireidError, match="--modality"):
        from_options(paths, None, "", 0, -1)
    assert from_options(paths, "visible", "c2", 5, 3) == [CropSource(paths[0], "visible", "c2", 5, 3)]
