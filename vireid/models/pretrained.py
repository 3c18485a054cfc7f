"""ImageNet initialisation of every backbone copy from a torchvision-format ResNet state_dict.

`pretrained="imagenet"` goes through torchvision's weights API (IMAGENET1K_V1, the weights the ReID baselines
start from), which reads torch hub's cache and downloads only when the cache is empty; offline with an empty
cache is a clear error that says where to put the file. `pretrained=PATH` reads a local `.pth`/`.pt` (loaded
with `weights_only=True`, never unpickling arbitrary objects) or `.safetensors` file.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision

from vireid.errors import VireidError
from vireid.models.reid import TwoStreamReID

_IMAGENET_WEIGHTS = {
    "resnet18": "ResNet18_Weights",
    "resnet34": "ResNet34_Weights",
    "resnet50": "ResNet50_Weights",
}
_CLASSIFIER_KEYS = ("fc.weight", "fc.bias")


def imagenet_state_dict(backbone: str) -> dict[str, torch.Tensor]:
    weights = getattr(torchvision.models, _IMAGENET_WEIGHTS[backbone]).IMAGENET1K_V1
    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        return weights.get_state_dict(progress=False, check_hash=False)
    except Exception as err:  # URLError, socket errors, HTTP errors: all mean "not cached, cannot fetch"
        raise VireidError(
            f"ImageNet weights for {backbone} are not cached at {cache} and could not be downloaded ({err}); "
            f"copy {Path(weights.url).name} from {weights.url} there, or set model.pretrained to a local "
            "torchvision state_dict file"
        ) from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise VireidError(f"pretrained weights file {path} does not exist; give a torchvision ResNet state_dict")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(path)
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise VireidError(f"cannot read pretrained weights {path}: {err}") from None
    if isinstance(loaded, dict) and "state_dict" in loaded and isinstance(loaded["state_dict"], dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise VireidError(f"pretrained weights {path} do not hold a state_dict")
    return loaded


def load_backbone_weights(model: TwoStreamReID, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Load a torchvision ResNet state_dict into the visible stem, the infrared stem and the shared trunk.

    Every backbone key must be used and every backbone parameter must be covered; only the ImageNet
    classifier (`fc.*`) is ignored. Anything else means the file is for another architecture.
    """
    used: set[str] = set()
    for part in (model.visible_stem, model.infrared_stem, model.trunk):
        subset = part.torchvision_keys(state_dict)
        try:
            result = part.load_state_dict(subset, strict=False)
        except RuntimeError as err:  # shape mismatch
            first = str(err).strip().splitlines()[-1].strip()
            raise VireidError(f"pretrained weights {source} do not fit {model.config.backbone}: {first}") from None
        if result.missing_keys:
            raise VireidError(
                f"pretrained weights {source} lack {len(result.missing_keys)} {model.config.backbone} keys "
                f"(first: {result.missing_keys[0]}); is it a torchvision {model.config.backbone} state_dict?"
            )
        if result.unexpected_keys:
            raise VireidError(
                f"pretrained weights {source} hold keys that are not part of a torchvision "
                f"{model.config.backbone} (first: {result.unexpected_keys[0]})"
            )
        used.update(subset)
    unexpected = sorted(set(state_dict) - used - set(_CLASSIFIER_KEYS))
    if unexpected:
        raise VireidError(
            f"pretrained weights {source} hold {len(unexpected)} keys that are not part of a torchvision "
            f"{model.config.backbone} (first: {unexpected[0]})"
        )


def initialise_backbone(model: TwoStreamReID) -> None:
    """Apply `model.config.pretrained` (None leaves the random initialisation)."""
    pretrained = model.config.pretrained
    if pretrained is None:
        return
    if pretrained == "imagenet":
        load_backbone_weights(model, imagenet_state_dict(model.config.backbone), "imagenet")
    else:
        load_backbone_weights(model, read_state_dict(pretrained), pretrained)
