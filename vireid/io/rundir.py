"""The run directory: `config.toml` + `model.safetensors` (+ best weights, trainer state).

See docs/architecture.md, "Training".

Everything later commands need to rebuild the model lives here, so `vireid eval`, `vireid export` and
`vireid bench` take a run directory and nothing else. Weights are safetensors (no pickle); every write is
atomic; a missing, truncated or mismatched file is a one-line `VireidError` that says what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vireid import __version__
from vireid.config import RunConfig, dump_toml, read_toml, run_config_from_dict
from vireid.errors import VireidError
from vireid.io.atomic import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    import torch

    from vireid.models import TwoStreamReID

CONFIG_FILE = "config.toml"
WEIGHTS_FILE = "model.safetensors"
BEST_WEIGHTS_FILE = "best.safetensors"
WeightsChoice = Literal["final", "best"]


def weights_path(run_dir: str | Path, which: WeightsChoice = "final") -> Path:
    return Path(run_dir) / (BEST_WEIGHTS_FILE if which == "best" else WEIGHTS_FILE)


def save_config(run_dir: str | Path, config: RunConfig) -> None:
    atomic_write_text(Path(run_dir) / CONFIG_FILE, dump_toml(config))


def save_weights(path: str | Path, state_dict: dict[str, torch.Tensor]) -> None:
    """Write a state_dict as safetensors, atomically. Tensors are copied to contiguous CPU memory first."""
    from safetensors.torch import save

    tensors = {key: value.detach().to("cpu").contiguous() for key, value in state_dict.items()}
    atomic_write_bytes(path, save(tensors, metadata={"format": "pt", "vireid": __version__}))


def save_run(run_dir: str | Path, config: RunConfig, model: TwoStreamReID) -> None:
    """Write config.toml and model.safetensors; loading them back rebuilds the same model."""
    save_config(run_dir, config)
    save_weights(weights_path(run_dir), model.state_dict())


def _require_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise VireidError(f"run directory {run_dir} does not exist; train one with `vireid train --out {run_dir}`")


def load_config(run_dir: str | Path) -> RunConfig:
    run_dir = Path(run_dir)
    _require_dir(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise VireidError(f"{run_dir} is not a run directory: {CONFIG_FILE} is missing")
    return run_config_from_dict(read_toml(config_path))


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise VireidError(f"{path} is missing; the run is incomplete (resume it with `vireid train --resume`)")
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise VireidError(f"{path} is corrupt or truncated ({err}); restore it or re-run training") from None


def load_weights_into(model: TwoStreamReID, path: Path) -> None:
    """Load safetensors weights strictly, naming the first mismatch if config and weights disagree."""
    state = read_weights(path)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise VireidError(
            f"{path} does not match the model in config.toml ({len(missing)} missing, {len(unexpected)} "
            f"unexpected keys; {detail}); the config or the weights were changed after training"
        )
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise VireidError(
                f"{path} does not match the model in config.toml: {key} has shape {tuple(value.shape)}, "
                f"the config builds {tuple(expected[key].shape)}"
            )
    model.load_state_dict(state)


def chosen_weights(run_dir: str | Path, which: WeightsChoice = "final") -> tuple[WeightsChoice, Path]:
    """The weights `which` names, or the final weights where a run kept no best epoch (`train.select_on =
    "none"`): what was actually used, so that a record never says "best" of final weights."""
    path = weights_path(run_dir, which)
    if which == "best" and not path.is_file():
        return "final", weights_path(run_dir, "final")
    return which, path


def load_run(run_dir: str | Path, which: WeightsChoice = "final") -> tuple[RunConfig, TwoStreamReID]:
    """Rebuild the model from a run directory alone (config.toml + weights), in eval mode on the CPU."""
    from dataclasses import replace

    from vireid.models import build_model

    config = load_config(run_dir)
    _, path = chosen_weights(run_dir, which)
    # The trained weights replace any initialisation, so never fetch ImageNet weights to rebuild a run.
    model = build_model(replace(config.model, pretrained=None))
    load_weights_into(model, path)
    return config, model.eval()
