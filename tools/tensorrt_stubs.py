"""Fetch and patch the TensorRT type stubs, then prove mypy uses them (docs/architecture.md, "Static checks").

TensorRT cannot be installed on machines without its NVIDIA index, so the TensorRT code is checked statically
against `tensorrt-stubs`. The stubs are installed with `--no-deps` (the package depends on TensorRT itself) into
`.typestubs/`, which `[tool.mypy] mypy_path` names; installing them into the venv would create an importable
`tensorrt` namespace package and hide the "TensorRT is not installed" error. Two syntax slips in the generated
`tensorrt_bindings/tensorrt.pyi` are patched: parameters named `in` (a keyword) and `channel_axis` without a
default after defaulted parameters. Finally a canary file that calls TensorRT 8's removed `build_engine` must
fail mypy: that proves removed APIs are caught rather than silently typed as Any.

Usage: python tools/tensorrt_stubs.py   (idempotent; run from the repository root)
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tempfile
from pathlib import Path

STUBS_VERSION = "10.13.0.35.1"
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".typestubs"
BINDINGS = TARGET / "tensorrt_bindings" / "tensorrt.pyi"
CANARY = """
import tensorrt as trt

logger = trt.Logger(trt.Logger.WARNING)
builder = trt.Builder(logger)
network = builder.create_network(0)
config = builder.create_builder_config()
engine = builder.build_engine(network, config)
"""


def fetch() -> None:
    if BINDINGS.is_file():
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(TARGET),
            f"tensorrt-stubs=={STUBS_VERSION}",
        ],
        check=True,
    )


def patch() -> None:
    text = BINDINGS.read_text(encoding="utf-8")
    patched = re.sub(r"(?<=[(,\s])in: ", "in_: ", text)
    patched = re.sub(r"channel_axis: int\)", "channel_axis: int = ...)", patched)
    if patched != text:
        BINDINGS.write_text(patched, encoding="utf-8")
    for stub in (BINDINGS, TARGET / "tensorrt" / "__init__.pyi"):
        ast.parse(stub.read_text(encoding="utf-8"), filename=str(stub))  # raises if a slip remains


def canary() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "canary.py"
        path.write_text(CANARY, encoding="utf-8")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--no-incremental",
                "--config-file",
                str(ROOT / "pyproject.toml"),
                str(path),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    if "build_engine" not in result.stdout:
        sys.exit(f"mypy did not flag TensorRT's removed build_engine; the stubs are not in use:\n{result.stdout}")


def main() -> None:
    fetch()
    patch()
    canary()
    print(f"TensorRT stubs {STUBS_VERSION} ready in {TARGET.relative_to(ROOT)}; removed APIs are flagged")


if __name__ == "__main__":
    main()
