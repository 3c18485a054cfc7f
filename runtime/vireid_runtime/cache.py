"""Where backends keep what they compile (TensorRT engines, OpenVINO blobs): a user cache folder, never ART_DIR.

A deployment image may mount the artifact folder read-only, and a compiled engine belongs to the machine that
compiled it, not to the export. $VIREID_CACHE wins; otherwise the XDG user cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    if os.environ.get("VIREID_CACHE"):
        return Path(os.environ["VIREID_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vireid"


def cache_dir(kind: str) -> Path:
    """The cache folder of one backend (`ort-trt`, `openvino`), not created here."""
    return cache_root() / kind
