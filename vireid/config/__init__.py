"""Configuration of a run: the schema (`schema`: frozen, validated dataclasses, one per TOML table) and how configs
are read and composed (`loader`: TOML, presets, `--set` overrides, what `vireid train` trains).

Everything is imported from here (`from vireid.config import RunConfig, load_run_config`); the split only keeps
each file to one idea. No torch: the CLI validates configs instantly.
"""

from vireid.config.loader import (
    GROUPS,
    dump_toml,
    from_dict,
    load_run_config,
    merge,
    parse_override,
    parse_toml,
    preset_names,
    read_preset,
    read_toml,
    replace,
    run_config_from_dict,
    to_dict,
    training_config,
)
from vireid.config.schema import (
    ATTENTION_VARIANTS,
    BACKBONES,
    Attention,
    Backbone,
    DataConfig,
    Device,
    ModelConfig,
    RunConfig,
    SelectOn,
    TrainConfig,
)

__all__ = [
    "ATTENTION_VARIANTS",
    "BACKBONES",
    "GROUPS",
    "Attention",
    "Backbone",
    "DataConfig",
    "Device",
    "ModelConfig",
    "RunConfig",
    "SelectOn",
    "TrainConfig",
    "dump_toml",
    "from_dict",
    "load_run_config",
    "merge",
    "parse_override",
    "parse_toml",
    "preset_names",
    "read_preset",
    "read_toml",
    "replace",
    "run_config_from_dict",
    "to_dict",
    "training_config",
]
