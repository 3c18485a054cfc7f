"""A contact sheet: one row per identity, its visible images then its infrared images (`vireid data preview`).

The quickest way to see what a dataset (real or synthetic) looks like, and whether the two modalities of one
identity really show the same person. Identities are grouped by the folder that holds their images
(SYSU-MM01 `cam*/0001/`, RegDB `Visible/1/`, `Thermal/1/`), which is the person id in both real layouts.
Pillow only, so it works without matplotlib.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from vireid.data.images import load_image
from vireid.data.layout import detect_layout
from vireid.data.regdb import RegDB
from vireid.data.sample import Sample
from vireid.data.sysu import SYSUMM01
from vireid.errors import VireidError
from vireid.io.atomic import atomic_path

CELL_H, CELL_W = 128, 64
GAP, LABEL_W, HEADER_H, SPLIT_GAP = 4, 56, 18, 16
BACKGROUND, INK = (255, 255, 255), (20, 20, 20)


def _samples(root: str | Path) -> list[Sample]:
    if detect_layout(root) == "sysu":
        dataset = SYSUMM01(root)
        return dataset.samples_of(sorted(set(dataset.train_ids()) | set(dataset.test_ids())))
    regdb = RegDB(root, trial=1)
    return regdb.train_samples() + regdb.test_visible() + regdb.test_thermal()


def contact_sheet(
    root: str | Path, out_png: str | Path, ids: int = 8, per_modality: int = 4, seed: int = 0
) -> tuple[int, int]:
    """Write the sheet of `ids` random identities (seeded) to `out_png`; returns its (width, height)."""
    if ids < 1 or per_modality < 1:
        raise VireidError(f"--ids and --per-modality must be >= 1, got {ids} and {per_modality}")
    by_person: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"visible": [], "infrared": []})
    for sample in _samples(root):
        by_person[os.path.basename(os.path.dirname(sample.path))][sample.modality].append(sample.path)
    # Only identities seen in both modalities make a useful row.
    people = sorted(name for name, images in by_person.items() if images["visible"] and images["infrared"])
    if not people:
        raise VireidError(f"{root} has no identity with both visible and infrared images")
    rng = random.Random(seed)
    chosen = sorted(rng.sample(people, min(ids, len(people))))

    width = LABEL_W + 2 * per_modality * (CELL_W + GAP) + SPLIT_GAP
    height = HEADER_H + len(chosen) * (CELL_H + GAP)
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    infrared_x = LABEL_W + per_modality * (CELL_W + GAP) + SPLIT_GAP
    draw.text((LABEL_W, 3), "visible", fill=INK, font=font)
    draw.text((infrared_x, 3), "infrared", fill=INK, font=font)
    for row, name in enumerate(chosen):
        y = HEADER_H + row * (CELL_H + GAP)
        draw.text((4, y + CELL_H // 2 - 6), f"id {name}", fill=INK, font=font)
        for modality, x0 in (("visible", LABEL_W), ("infrared", infrared_x)):
            paths = by_person[name][modality]
            for column, path in enumerate(sorted(rng.sample(paths, min(per_modality, len(paths))))):
                thumb = load_image(path, modality).resize((CELL_W, CELL_H), Image.Resampling.BILINEAR)  # type: ignore[arg-type]
                sheet.paste(thumb, (x0 + column * (CELL_W + GAP), y))
    with atomic_path(out_png) as tmp:
        sheet.save(tmp, format="PNG")
    return sheet.size
