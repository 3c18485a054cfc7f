"""Configuration: validated, frozen dataclasses grouped as the TOML tables of a run's `config.toml`.

`ModelConfig` is the contract of docs/architecture.md, "The model": everything needed to rebuild the network from a run
directory alone. `DataConfig` and `TrainConfig` carry the paper's recipe (section 6). Loading is strict: an
unknown key or a value of the wrong type or range raises `VireidError` naming the key, before any work starts.
This module imports no torch, so the CLI can parse and validate configs instantly.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import tomllib

from vireid.errors import VireidError

ATTENTION_VARIANTS = ("none", "mgsa", "msam", "mgsa+msam")
BACKBONES = ("resnet18", "resnet34", "resnet50")
Attention = Literal["none", "mgsa", "msam", "mgsa+msam"]
Backbone = Literal["resnet18", "resnet34", "resnet50"]
SelectOn = Literal["val", "test", "last"]
Device = Literal["auto", "cpu", "cuda"]


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise VireidError(f"config: {key} {message}")


@dataclass(frozen=True)
class ModelConfig:
    """The network: two-stream ResNet + MGSA/MSAM attention after stage 2 + PCB/GeM head."""

    backbone: Backbone = "resnet50"
    """torchvision ResNet depth; resnet18/34 exist for fast experiments and tests."""
    share_from: int = 2
    """First shared stage (1..5): conv1..layer{share_from-1} exist once per modality."""
    attention: Attention = "mgsa+msam"
    """Table 1 row of the paper: none (baseline), mgsa, msam or mgsa+msam."""
    mgsa_strips: int = 4
    """I1: horizontal strips of the multi-granularity spatial attention (1 = CBAM spatial attention)."""
    msam_strips: int = 2
    """I2: horizontal strips with their own channel attention in MSAM (1 = plain CBAM)."""
    parts: int = 6
    """PCB horizontal parts of the layer4 map."""
    part_dim: int = 256
    """Width of each part feature after the 1x1 reduction; the embedding is parts * part_dim wide."""
    gem_p: float = 3.0
    """GeM pooling exponent: 3 for SYSU-MM01, 10 for RegDB."""
    height: int = 288
    """Input height in pixels."""
    width: int = 144
    """Input width in pixels."""
    num_classes: int = 395
    """Training identities (classifier width); 395 for SYSU-MM01, 206 for RegDB."""
    pretrained: str | None = None
    """None (random init), "imagenet" (torchvision weights API) or a path to a torchvision ResNet state_dict."""

    def __post_init__(self) -> None:
        _check(
            self.backbone in BACKBONES,
            "model.backbone",
            f"must be one of {', '.join(BACKBONES)}, got {self.backbone!r}",
        )
        _check(
            self.attention in ATTENTION_VARIANTS,
            "model.attention",
            f"must be one of {', '.join(ATTENTION_VARIANTS)}, got {self.attention!r}",
        )
        _check(1 <= self.share_from <= 5, "model.share_from", f"must be in 1..5, got {self.share_from}")
        _check(self.mgsa_strips >= 1, "model.mgsa_strips", f"must be >= 1, got {self.mgsa_strips}")
        _check(self.msam_strips >= 1, "model.msam_strips", f"must be >= 1, got {self.msam_strips}")
        _check(self.parts >= 1, "model.parts", f"must be >= 1, got {self.parts}")
        _check(self.part_dim >= 1, "model.part_dim", f"must be >= 1, got {self.part_dim}")
        _check(self.gem_p > 0, "model.gem_p", f"must be > 0, got {self.gem_p}")
        _check(
            self.height >= 32 and self.width >= 16,
            "model.height",
            f"x width must be >= 32x16, got {self.height}x{self.width}",
        )
        _check(self.num_classes >= 2, "model.num_classes", f"must be >= 2, got {self.num_classes}")
        # Feature maps: /8 after layer2 (where the strips are cut), /16 after layer4 (last stride 1).
        strips = max(self.mgsa_strips, self.msam_strips)
        _check(self.height // 8 >= strips, "model.height", f"is too small for {strips} attention strips")
        _check(self.height // 16 >= self.parts, "model.height", f"is too small for {self.parts} PCB parts")

    @property
    def embedding_dim(self) -> int:
        return self.parts * self.part_dim


@dataclass(frozen=True)
class DataConfig:
    """Where the images come from and how they are augmented (the paper: resize, pad 10 + crop, flip)."""

    root: str = ""
    """Dataset root (SYSU-MM01 or RegDB layout); set by `--data`. Export uses it for parity images."""
    trial: int = 1
    """RegDB split trial (1..10) used for training; ignored for SYSU-MM01."""
    pad: int = 10
    """Zero padding before the random crop."""
    flip: bool = True
    """Random horizontal flip."""
    workers: int = 2
    """DataLoader worker processes (0 loads in the training process)."""

    def __post_init__(self) -> None:
        _check(self.pad >= 0, "data.pad", f"must be >= 0, got {self.pad}")
        _check(self.workers >= 0, "data.workers", f"must be >= 0, got {self.workers}")
        _check(1 <= self.trial <= 10, "data.trial", f"must be in 1..10, got {self.trial}")


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation recipe of docs/architecture.md, "Training" (hetero-center triplet baseline + the paper)."""

    epochs: int = 60
    lr: float = 0.1
    """Learning rate of the part heads; the backbone gets lr * backbone_lr_mult."""
    backbone_lr_mult: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: int = 10
    """Linear warm-up: epoch e < warmup_epochs runs at lr * (e + 1) / warmup_epochs."""
    milestones: tuple[int, ...] = (20, 50)
    """Epochs where the learning rate is multiplied by `gamma` (cumulatively)."""
    gamma: float = 0.1
    ids_per_batch: int = 6
    """P: identities per batch."""
    images_per_id: int = 8
    """K: images per identity and modality (a batch holds P*K visible + P*K infrared images)."""
    batches_per_epoch: int = 0
    """0 = as the baseline: max(visible, infrared training images) // (P*K)."""
    w_triplet: float = 1.0
    """Weight of the hetero-center triplet on the whole (concatenated) embedding; 1 in the paper's recipe."""
    w_center: float = 2.0
    """Weight of the per-part hetero-center triplet terms (the baseline's w_center)."""
    margin: float = 0.3
    label_smoothing: float = 0.0
    channel_aug: float = 0.0
    """Channel augmentation of visible images (CAJ, Ye et al. ICCV 2021): the probability of random channel
    exchange (one of R, G, B replicated). 0 in the Table-1 presets (the paper does not use it); the first thing to
    try beyond them."""
    grey_aug: float = 0.0
    """... and of random greyscale (when no exchange was drawn). channel_aug + grey_aug <= 1."""
    seed: int = 0
    device: Device = "auto"
    amp: bool = True
    """Mixed precision (CUDA only)."""
    channels_last: bool = True
    """channels_last memory format: faster convolutions on CUDA and on CPUs alike (+30% measured on 2 AVX2 cores)."""
    eval_every: int = 5
    """Evaluate for model selection every N epochs (and after the last)."""
    select_on: SelectOn = "last"
    """Model selection: "last" (the final epoch, trained on every training id: the paper's protocol), "val"
    (the best epoch on `val_ids` held-out training ids), "test" (the baseline's habit; recorded, optimistic)."""
    val_ids: int = 20
    """Training identities held out for validation when select_on = "val"."""
    log_every: int = 20
    """Log a plain line every N steps when not on a terminal."""

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, "train.epochs", f"must be >= 1, got {self.epochs}")
        _check(self.lr > 0, "train.lr", f"must be > 0, got {self.lr}")
        _check(self.backbone_lr_mult > 0, "train.backbone_lr_mult", "must be > 0")
        _check(self.warmup_epochs >= 0, "train.warmup_epochs", "must be >= 0")
        _check(list(self.milestones) == sorted(self.milestones), "train.milestones", "must be increasing")
        _check(self.ids_per_batch >= 2, "train.ids_per_batch", "must be >= 2 (the triplet loss needs negatives)")
        _check(self.images_per_id >= 1, "train.images_per_id", "must be >= 1")
        _check(self.batches_per_epoch >= 0, "train.batches_per_epoch", "must be >= 0")
        _check(0.0 <= self.label_smoothing < 1.0, "train.label_smoothing", "must be in [0, 1)")
        _check(
            self.channel_aug >= 0 and self.grey_aug >= 0 and self.channel_aug + self.grey_aug <= 1,
            "train.channel_aug",
            f"and train.grey_aug must be >= 0 and sum to <= 1, got {self.channel_aug} and {self.grey_aug}",
        )
        _check(self.w_triplet >= 0 and self.w_center >= 0, "train.w_triplet", "and train.w_center must be >= 0")
        _check(self.eval_every >= 1, "train.eval_every", "must be >= 1")
        _check(self.val_ids >= 0, "train.val_ids", "must be >= 0")
        _check(
            self.select_on != "val" or self.val_ids >= 2,
            "train.val_ids",
            'must be >= 2 when select_on = "val" (or choose select_on = "last" / "test")',
        )
        _check(self.log_every >= 1, "train.log_every", "must be >= 1")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run directory's config.toml holds: one table per group."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


C = TypeVar("C")


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check `value` (as parsed from TOML) against a field annotation; return it in the field's type."""
    origin = get_origin(annotation)
    if origin is Literal:
        choices = get_args(annotation)
        _check(value in choices, key, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        options = get_args(annotation)
        if value is None or (isinstance(value, str) and value.lower() == "none" and type(None) in options):
            _check(type(None) in options, key, "must not be empty")
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except VireidError as err:
                errors.append(str(err))
        raise VireidError(errors[0])
    if origin is tuple:
        _check(isinstance(value, list | tuple), key, f"must be a list, got {value!r}")
        (item_type, _) = get_args(annotation)
        return tuple(_coerce(item, item_type, key) for item in value)
    if annotation is bool:
        _check(isinstance(value, bool), key, f"must be true or false, got {value!r}")
        return value
    if annotation is int:
        _check(isinstance(value, int) and not isinstance(value, bool), key, f"must be an integer, got {value!r}")
        return value
    if annotation is float:
        _check(isinstance(value, int | float) and not isinstance(value, bool), key, f"must be a number, got {value!r}")
        return float(value)
    if annotation is str:
        _check(isinstance(value, str), key, f"must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config annotation {annotation!r} for {key}")


def from_dict(cls: type[C], values: dict[str, Any], table: str) -> C:
    """Build config dataclass `cls` from a TOML table, rejecting unknown keys and ill-typed values."""
    if not isinstance(values, dict):
        raise VireidError(f"config: [{table}] must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise VireidError(f"config: unknown key {table}.{unknown[0]} (known keys: {', '.join(sorted(names))})")
    kwargs = {name: _coerce(value, hints[name], f"{table}.{name}") for name, value in values.items()}
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a TOML-ready dict (tuples become lists, None values are omitted)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = to_dict(value)
        elif value is None:
            continue
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out


GROUPS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}


def run_config_from_dict(values: dict[str, Any]) -> RunConfig:
    """Build a RunConfig from the parsed TOML document; missing tables take their defaults."""
    unknown = sorted(set(values) - set(GROUPS))
    if unknown:
        raise VireidError(f"config: unknown table [{unknown[0]}] (known tables: {', '.join(GROUPS)})")
    groups: dict[str, Any] = {name: from_dict(cls, values.get(name, {}), name) for name, cls in GROUPS.items()}
    return RunConfig(**groups)


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text, turning syntax errors into one-line user errors that name the source."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise VireidError(f"{source}: malformed TOML ({err}); fix the file") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VireidError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise VireidError(f"cannot read config file {path}: {err}") from None
    return parse_toml(text, str(path))


def dump_toml(config: RunConfig) -> str:
    import tomli_w

    return tomli_w.dumps(to_dict(config))


def parse_override(assignment: str) -> tuple[list[str], Any]:
    """Parse one `--set table.key=value`; the value is read as TOML, else taken as a plain string."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or key.count(".") != 1:
        raise VireidError(f"--set {assignment!r}: expected table.key=value, for example model.attention=mgsa")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two TOML documents; values in `override` win."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def preset_names() -> list[str]:
    from importlib import resources

    folder = resources.files("vireid") / "presets"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def read_preset(name: str) -> dict[str, Any]:
    """The TOML document of a preset shipped inside the package (vireid/presets/NAME.toml)."""
    from importlib import resources

    resource = resources.files("vireid") / "presets" / f"{name}.toml"
    if not resource.is_file():
        raise VireidError(f"unknown preset {name!r}; available: {', '.join(preset_names())}")
    return parse_toml(resource.read_text(encoding="utf-8"), f"preset {name}")


def load_run_config(
    preset: str | None = None, config_file: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> RunConfig:
    """Compose defaults < preset < config file < `--set` overrides, then validate the result."""
    document: dict[str, Any] = read_preset(preset) if preset else {}
    if config_file is not None:
        document = merge(document, read_toml(config_file))
    for assignment in overrides:
        (table, key), value = parse_override(assignment)
        document = merge(document, {table: {key: value}})
    return run_config_from_dict(document)


def replace(config: C, **changes: Any) -> C:
    """`dataclasses.replace` with validation (post_init runs again)."""
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


def training_config(
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    data: str | Path | None = None,
    select_on_test: bool = False,
    val_ids: int | None = None,
) -> RunConfig:
    """What `vireid train` trains: the composed config, the dataset root made absolute, `val_ids` training
    identities held out to keep the best validation epoch (None: as configured; the presets keep the final
    epoch on every identity), and model selection on the test split only when asked for explicitly (it inflates
    results; the run's config records it)."""
    if val_ids is not None and select_on_test:
        raise VireidError("--val-ids and --select-on-test are two ways to select the model; choose one")
    config = load_run_config(preset, config_file, overrides)
    if val_ids is not None:
        config = replace(config, train=replace(config.train, select_on="val", val_ids=val_ids))
    if data is not None:
        config = replace(config, data=replace(config.data, root=str(Path(data).resolve())))
    if config.train.select_on == "test" and not select_on_test:
        raise VireidError(
            'train.select_on = "test" selects the model on the test split; pass --select-on-test to allow it'
        )
    if select_on_test:
        config = replace(config, train=replace(config.train, select_on="test"))
    return config
