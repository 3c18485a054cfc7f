"""The suite's dynamo exports, memoised by their whole input: one export per distinct module, inputs and options.

Several tests export the same module: the seed-0 tiny random-weight model of `tests.helpers` (its infrared branch
four times), or a branch an earlier step of the same test already exported. The dynamo exporter spends 4-7 s of
single-threaded tracing on each. The key is everything `torch.onnx.export` is given:
- every parameter and buffer of the module: name, dtype, shape and bytes;
- every submodule: its path, its class, and its plain attributes (strides, flags, part counts...), so two modules
  with the same weights but another configuration never share an entry;
- the example inputs' shapes and dtypes, and the keyword options (opset, names, dynamic axes).
A hit saves the bytes that the first export of that key saved, so what a test then checks, gates and asserts on
is still the exporter's own output for that module. The store lives in this run's temporary folder: no entry
outlives the run, so a change to the code can never be answered from an older run's graph.

`VIREID_TEST_EXPORT_MEMO=0` exports every time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLAIN = (bool, int, float, str, type(None))


def _plain(value: object) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_plain(item) for item in value)
    return isinstance(value, PLAIN)


def export_key(module: Any, args: tuple[Any, ...], options: dict[str, Any]) -> str:
    """sha256 of everything that decides what `torch.onnx.export(module, args, **options)` writes."""
    import torch

    digest = hashlib.sha256()

    def tensor(name: str, value: torch.Tensor) -> None:
        data = value.detach().cpu().contiguous()
        digest.update(f"{name} {data.dtype} {tuple(data.shape)}".encode())
        digest.update(data.view(-1).view(dtype=torch.uint8).numpy().tobytes())

    for name, value in [*module.named_parameters(), *module.named_buffers()]:
        tensor(name, value)
    for path, submodule in module.named_modules():
        public = sorted((k, v) for k, v in vars(submodule).items() if not k.startswith("_"))
        attributes = [(k, repr(v)) for k, v in public if _plain(v)]
        digest.update(f"{path} {type(submodule).__module__}.{type(submodule).__qualname__} {attributes}".encode())
        for k, v in public:  # a tensor kept as a plain attribute rather than a buffer
            if isinstance(v, torch.Tensor):
                tensor(f"{path}.{k}", v)
        hooks = [getattr(submodule, name) for name in ("_forward_hooks", "_forward_pre_hooks")]
        digest.update(repr([[getattr(h, "__qualname__", repr(h)) for h in d.values()] for d in hooks]).encode())
    digest.update(repr([(tuple(a.shape), str(a.dtype)) for a in args]).encode())
    digest.update(repr(sorted((k, repr(v)) for k, v in options.items())).encode())
    return digest.hexdigest()


class _Stored:
    """Stands in for the exporter's ONNXProgram once the graph is stored: `export_onnx` only saves it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, destination: str | os.PathLike[str], **_options: object) -> None:
        shutil.copyfile(self.path, destination)


def memoised(export: Callable[..., Any], store: Path) -> Callable[..., Any]:
    """`export` (torch.onnx.export), answering a repeated input from `store`."""

    def export_once(module: Any, args: tuple[Any, ...], **options: Any) -> Any:
        path = store / f"{export_key(module, args, options)}.onnx"
        if path.exists():
            return _Stored(path)
        program = export(module, args, **options)
        if program is None or options.get("external_data") is not False:
            return program  # only single-file graphs are stored
        partial = path.with_suffix(f".{os.getpid()}.partial")
        program.save(os.fspath(partial), external_data=False)
        os.replace(partial, path)  # another worker may have stored the same key meanwhile: the same graph
        return _Stored(path)  # the caller's save copies the stored file rather than serialising the graph again

    return export_once
