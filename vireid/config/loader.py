"""Reading configs: TOML documents, the shipped presets and `--set` overrides, composed and checked against the
schema (`vireid.config.schema`).

Loading is strict: an unknown table or key, or a value of the wrong type, raises `VireidError` naming the key
before any work starts; ranges are the schema's own checks. Composition order: defaults < preset < config file <
`--set` overrides. `training_config` adds what `vireid train` decides on top (dataset root, model selection).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import tomllib

from vireid.config.schema import AMP_CHOICES, DataConfig, ModelConfig, RunConfig, TrainConfig, require
from vireid.errors import VireidError

C = TypeVar("C")


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check `value` (as parsed from TOML) against a field annotation; return it in the field's type."""
    origin = get_origin(annotation)
    if origin is Literal:
        choices = get_args(annotation)
        require(value in choices, key, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        options = get_args(annotation)
        if value is None or (isinstance(value, str) and value.lower() == "none" and type(None) in options):
            require(type(None) in options, key, "must not be empty")
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
        require(isinstance(value, list | tuple), key, f"must be a list, got {value!r}")
        (item_type, _) = get_args(annotation)
        return tuple(_coerce(item, item_type, key) for item in value)
    if annotation is bool:
        require(isinstance(value, bool), key, f"must be true or false, got {value!r}")
        return value
    if annotation is int:
        require(isinstance(value, int) and not isinstance(value, bool), key, f"must be an integer, got {value!r}")
        return value
    if annotation is float:
        require(isinstance(value, int | float) and not isinstance(value, bool), key, f"must be a number, got {value!r}")
        return float(value)
    if annotation is str:
        require(isinstance(value, str), key, f"must be a string, got {value!r}")
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
    amp: str | None = None,
    compile_model: bool = False,
) -> RunConfig:
    """What `vireid train` trains: the composed config, the dataset root made absolute, `val_ids` training
    identities held out to keep the best validation epoch (None: as configured; the presets keep the final
    epoch on every identity), model selection on the test split only when asked for explicitly (it inflates
    results; the run's config records it), mixed precision `amp` ("auto", "bf16", "fp16" or "off"; None: as
    configured) and `compile_model` (torch.compile)."""
    if val_ids is not None and select_on_test:
        raise VireidError("--val-ids and --select-on-test are two ways to select the model; choose one")
    config = load_run_config(preset, config_file, overrides)
    if val_ids is not None:
        config = replace(config, train=replace(config.train, select_on="val", val_ids=val_ids))
    if amp is not None:
        if amp not in (*AMP_CHOICES, "off"):
            raise VireidError(f"--amp must be one of {', '.join(AMP_CHOICES)} or off, got {amp!r}")
        amp_fields = {"amp": False} if amp == "off" else {"amp": True, "amp_dtype": amp}
        config = replace(config, train=replace(config.train, **amp_fields))
    if compile_model:
        config = replace(config, train=replace(config.train, compile=True))
    if data is not None:
        config = replace(config, data=replace(config.data, root=str(Path(data).resolve())))
    if config.train.select_on == "test" and not select_on_test:
        raise VireidError(
            'train.select_on = "test" selects the model on the test split; pass --select-on-test to allow it'
        )
    if select_on_test:
        config = replace(config, train=replace(config.train, select_on="test"))
    return config
