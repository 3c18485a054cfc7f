"""The fingerprint of an artifact folder: what a gallery records and checks every query against."""

from __future__ import annotations

from pathlib import Path

from vireid.errors import VireidError
from vireid.gallery.records import Fingerprint


def artifact_fingerprint(art_dir: str | Path) -> Fingerprint:
    """Each branch's fp32 graph hash (every other precision of the branch passed its gate against it), the
    embedding dimension and its normalisation, from `manifest.json`."""
    from vireid_runtime import RuntimeUserError
    from vireid_runtime.manifest import read_manifest

    try:
        manifest = read_manifest(Path(art_dir))
    except (RuntimeUserError, ValueError) as err:
        raise VireidError(str(err)) from None
    hashes = {a.modality: a.sha256 for a in manifest.artifacts if a.precision == "fp32" and a.format == "onnx"}
    if set(hashes) != {"visible", "infrared"}:
        raise VireidError(f"{art_dir} lacks the fp32 graph of a branch; re-export it with `vireid export`")
    return Fingerprint(
        hashes["visible"], hashes["infrared"], manifest.output.dim, "l2" if manifest.output.l2_normalised else "none"
    )
