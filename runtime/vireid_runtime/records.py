"""Typed JSON records: rebuild frozen dataclasses from parsed JSON by their type hints.

manifest.json and bench.json are both read by the torch-free runtime, and both are versioned records of nested
dataclasses. One reader for both means a field added to either is read back typed (dataclasses, tuples,
optionals, string-keyed mappings), and a field the reader does not know is an error naming where it is, never
silently dropped.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from vireid_runtime.errors import ArtifactError


def _convert(hint: Any, value: Any, where: str, what: str, fix: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _convert(options[0], value, where, what, fix)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where, what, fix)  # type: ignore[arg-type]
    if origin is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], item, f"{where}[{i}]", what, fix) for i, item in enumerate(value))
        return tuple(value)
    if origin is dict and isinstance(value, dict):
        _key, item_hint = typing.get_args(hint)
        return {key: _convert(item_hint, item, f"{where}.{key}", what, fix) for key, item in value.items()}
    return value


def build(cls: type, values: Any, where: str, what: str, fix: str) -> Any:
    """`cls(**values)` with every nested field rebuilt; ArtifactError("<what>: <where> ...; <fix>") when malformed."""
    if not isinstance(values, dict):
        raise ArtifactError(f"{what}: {where} must be an object")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ArtifactError(f"{what}: {where} has unknown fields {', '.join(unknown)}; {fix}")
    try:
        return cls(**{k: _convert(hints[k], v, f"{where}.{k}", what, fix) for k, v in values.items()})
    except TypeError as err:
        raise ArtifactError(f"{what}: {where} is malformed ({err}); {fix}") from None
