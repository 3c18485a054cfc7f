"""manifest.json format /5 types the engine record and the checkpoint; /4 manifests still read, their ONNX
files' empty engine records as None."""

from __future__ import annotations

import json

import pytest

from vireid_runtime import ArtifactError
from vireid_runtime.manifest import FORMAT, BatchRange, Checkpoint, EngineRecord, manifest_from_dict


def _values(fmt: str, engine: object) -> dict[str, object]:
    artifact = {
        "modality": "visible",
        "precision": "fp32",
        "format": "plan",
        "file": "visible.fp32.plan",
        "sha256": "0" * 64,
        "bytes": 4,
        "engine": engine,
    }
    onnx = {**artifact, "format": "onnx", "file": "visible.onnx", "engine": {} if fmt.endswith("/4") else None}
    return {
        "input": {"height": 8, "width": 4},
        "output": {"dim": 16},
        "batch": {"min": 1, "opt": 4, "max": 8},
        "opset": 19,
        "artifacts": [onnx, artifact],
        "model": {},
        "checkpoint": {"file": "model.safetensors", "sha256": "1" * 64, "weights": "final"},
        "format": fmt,
    }


ENGINE = {
    "gpu": "NVIDIA H200",
    "compute_capability": "9.0",
    "tensorrt": "10.13.0.35",
    "batch": {"min": 1, "opt": 4, "max": 8},
    "workspace_bytes": 1 << 30,
    "build_seconds": 12.5,
    "tf32": True,
}


@pytest.mark.parametrize("fmt", ["vireid-artifacts/4", FORMAT])
def test_engine_records_and_the_checkpoint_read_typed(fmt: str) -> None:
    manifest = manifest_from_dict(json.loads(json.dumps(_values(fmt, ENGINE))))
    onnx, plan = manifest.artifacts
    assert onnx.engine is None
    assert plan.engine == EngineRecord(
        "NVIDIA H200", "9.0", "10.13.0.35", BatchRange(1, 4, 8), 1 << 30, 12.5, tf32=True
    )
    assert manifest.checkpoint == Checkpoint("model.safetensors", "1" * 64, "final")
    again = manifest_from_dict(json.loads(manifest.to_json()))
    assert again == manifest and json.loads(manifest.to_json())["format"] == FORMAT


def test_an_engine_record_with_an_unknown_field_is_one_line() -> None:
    with pytest.raises(ArtifactError, match="unknown fields colour"):
        manifest_from_dict(_values(FORMAT, {**ENGINE, "colour": "green"}))
