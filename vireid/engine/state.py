"""trainer_state.pt: everything `--resume` needs, written as one atomic file at the end of each epoch.

It holds the epoch count, the optimizer (momentum buffers), the AMP scaler, the best-checkpoint record, RNG
states, the number of metrics.jsonl lines at that point, and a copy of the model weights. The weights are in
here, and not only in model.safetensors, so that resuming reads one file written in one `os.replace`: a kill
between two separate writes could otherwise pair weights of epoch k with optimizer state of epoch k-1.
It is loaded with `torch.load(weights_only=True)`: tensors, numbers, strings and containers only, never
arbitrary pickled objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vireid.errors import VireidError
from vireid.io.atomic import atomic_path

STATE_FILE = "trainer_state.pt"


def save_state(run_dir: Path, state: dict[str, Any]) -> None:
    with atomic_path(run_dir / STATE_FILE) as tmp:
        torch.save(state, tmp)


def load_state(run_dir: Path) -> dict[str, Any]:
    path = run_dir / STATE_FILE
    if not path.is_file():
        raise VireidError(f"{path} is missing: the run has no completed epoch to resume from; start it again")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise VireidError(f"{path} is corrupt or not a vireid trainer state ({err}); start the run again") from None
    for key in ("epoch", "model", "optimizer"):
        if key not in state:
            raise VireidError(f"{path} lacks {key!r}; it was not written by this vireid; start the run again")
    return dict(state)
