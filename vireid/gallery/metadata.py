"""Where a crop's metadata comes from: the dataset layout, options on the command line, or a sidecar file.

- `--data ROOT`: every evaluation-split image of a SYSU-MM01 or RegDB tree, with its camera, modality and
  identity from the layout (the layouts carry no capture time or track);
- image paths with `--modality`, `--camera`, `--time`, `--track`, the same for every image given;
- `--sidecar FILE.csv|FILE.json`: one record per image (`path`, `modality`, and optionally `camera`, `time`,
  `track`, `identity`), paths relative to the sidecar's folder: what a real deployment's tracker writes.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from vireid.data.sample import Modality
from vireid.errors import VireidError
from vireid.gallery.store import require_modality


@dataclass(frozen=True)
class CropSource:
    """An image to ingest and what is known about it (its content hash is taken at ingest)."""

    path: Path
    modality: Modality
    camera: str = ""
    time: int = 0
    track: int = -1
    identity: int = -1
    protocol: str = ""
    """The evaluation protocol of the dataset it was read from ("sysu", "regdb"; "" when not from a dataset):
    `gallery eval` applies that protocol's camera rule, and only that."""


def camera_name(camid: int) -> str:
    """How the gallery names a dataset's camera (`camera_id` reads it back)."""
    return f"cam{camid}"


def camera_id(name: str) -> int | None:
    """The dataset camera id of a `camera_name` (None for any other camera name)."""
    return int(name[3:]) if name.startswith("cam") and name[3:].isdigit() else None


def from_dataset(root: Path) -> list[CropSource]:
    from vireid.eval.splits import evaluation_split

    if not root.is_dir():
        raise VireidError(f"--data {root} is not a folder")
    split = evaluation_split(root)
    protocol = split.tasks[0].protocol
    return [
        CropSource(Path(s.path), s.modality, camera_name(s.camid), 0, -1, s.pid, protocol)
        for s in (*split.visible, *split.infrared)
    ]


def from_options(paths: list[Path], modality: str | None, camera: str, time: int, track: int) -> list[CropSource]:
    if modality is None:
        raise VireidError("images given by path need --modality visible|infrared (or use --sidecar or --data)")
    kind = require_modality(modality, "--modality")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise VireidError(f"image {missing[0]} does not exist")
    return [CropSource(p, kind, camera, time, track) for p in paths]


def from_sidecar(sidecar: Path) -> list[CropSource]:
    if not sidecar.is_file():
        raise VireidError(f"--sidecar {sidecar} does not exist")
    try:
        if sidecar.suffix.lower() == ".json":
            records = json.loads(sidecar.read_text(encoding="utf-8"))
        else:
            with open(sidecar, newline="", encoding="utf-8") as handle:
                records = list(csv.DictReader(handle))
    except (ValueError, csv.Error, UnicodeDecodeError) as err:
        raise VireidError(f"--sidecar {sidecar} is not valid {sidecar.suffix[1:] or 'CSV'}: {err}") from None
    if not isinstance(records, list):
        raise VireidError(f"--sidecar {sidecar} must hold a list of records")
    sources = []
    for number, record in enumerate(records, start=1):
        try:
            path = Path(record["path"])
            path = path if path.is_absolute() else sidecar.parent / path
            sources.append(
                CropSource(
                    path,
                    require_modality(record["modality"], "modality"),
                    str(_given(record, "camera", "")),
                    int(_given(record, "time", 0)),  # type: ignore[call-overload]
                    int(_given(record, "track", -1)),  # type: ignore[call-overload]
                    int(_given(record, "identity", -1)),  # type: ignore[call-overload]
                )
            )
        except (KeyError, TypeError, ValueError, VireidError) as err:
            raise VireidError(f"--sidecar {sidecar} record {number}: {err} (needs path and modality)") from None
    missing = [s.path for s in sources if not s.path.is_file()]
    if missing:
        raise VireidError(f"--sidecar {sidecar} names {missing[0]}, which does not exist")
    return sources


def _given(record: dict[str, object], key: str, default: object) -> object:
    """The record's value, or `default` where it is absent or empty (a CSV's empty cell); 0 is a value."""
    value = record.get(key)
    return default if value is None or value == "" else value
