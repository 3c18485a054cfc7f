"""The OpenVINO backend: f32 parity with ONNX Runtime, the bf16 capability check, its compile settings, caching."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

pytest.importorskip("openvino")

from tests.helpers import artifact_copy
from vireid_runtime import ArtifactError, BackendUnavailable, load_embedder
from vireid_runtime.backends import openvino as ov_backend


def _batch(embedder, count: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    spec = embedder.input_spec
    return np.random.default_rng(0).random((count, 3, spec.height, spec.width), dtype=np.float32)


@pytest.mark.parametrize("modality", ["visible", "infrared"])
def test_f32_equals_onnx_runtime_on_the_same_graph(demo_export: Path, modality: str) -> None:
    with load_embedder(demo_export, modality, "openvino", "fp32") as embedder:
        batch = _batch(embedder, 6)
        session = ort.InferenceSession(os.fspath(embedder.path), providers=["CPUExecutionProvider"])
        expected = session.run(None, {"images": batch})[0]
        assert np.abs(embedder.embed(batch) - expected).max() <= 1e-5


def test_bf16_on_a_cpu_without_bf16_is_refused_with_the_reason(
    demo_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ov_backend, "capabilities", lambda: ("FP32", "INT8", "BIN"))
    with pytest.raises(BackendUnavailable, match=r"^openvino bf16: this CPU .* has no bf16 support .*use fp32 or int8"):
        load_embedder(demo_export, "visible", "openvino", "bf16")


def test_bf16_where_the_cpu_has_it_compiles_with_the_bf16_hint(
    demo_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openvino as ov

    monkeypatch.setattr(ov_backend, "capabilities", lambda: ("FP32", "BF16", "INT8"))
    seen: list[dict[str, object]] = []
    real = ov_backend.compile_config
    monkeypatch.setattr(ov_backend, "compile_config", lambda *a: seen.append(real(*a)) or seen[-1])
    with load_embedder(demo_export, "visible", "openvino", "bf16") as embedder:
        assert embedder.precision == "bf16" and embedder.artifact.precision == "fp32"
        assert embedder.artifact.file == "visible.onnx"  # bf16 is a mode of the backend on the fp32 graph
    assert seen[0]["INFERENCE_PRECISION_HINT"] == ov.Type.bf16


def test_fp32_and_int8_force_f32_one_latency_stream_and_the_asked_threads(demo_export: Path) -> None:
    import openvino as ov

    for precision in ("fp32", "int8"):
        with load_embedder(demo_export, "visible", "openvino", precision, threads=1) as embedder:
            compiled = embedder.compiled  # type: ignore[attr-defined]
            assert compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
            assert compiled.get_property("INFERENCE_NUM_THREADS") == 1
            assert str(compiled.get_property("PERFORMANCE_HINT")).endswith("LATENCY")  # 'LATENCY' here
            assert int(compiled.get_property("NUM_STREAMS")) == 1
            if precision == "int8":
                assert embedder.artifact.flavour == "qdq-u8s8"


def test_compiled_models_are_cached_outside_the_artifact_folder(demo_export: Path, tmp_path: Path) -> None:
    art = artifact_copy(demo_export, tmp_path / "art")
    before = sorted(p.name for p in art.iterdir())
    cache = tmp_path / "cache"
    with load_embedder(art, "visible", "openvino", cache_dir=cache) as first:
        expected = first.embed(_batch(first, 2))
    assert any(cache.iterdir()), "the compiled blob is cached"
    with load_embedder(art, "visible", "openvino", cache_dir=cache) as second:  # from the cache
        np.testing.assert_array_equal(second.embed(_batch(second, 2)), expected)
    assert sorted(p.name for p in art.iterdir()) == before
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with load_embedder(art, "visible", "openvino", cache_dir=blocked / "cache") as uncached:  # no cache: still runs
        np.testing.assert_array_equal(uncached.embed(_batch(uncached, 2)), expected)


def test_a_corrupt_graph_is_one_line_artifact_error(demo_export: Path, tmp_path: Path) -> None:
    art = artifact_copy(demo_export, tmp_path / "art")
    path = art / "visible.onnx"
    size = path.stat().st_size
    path.unlink()  # a linked graph: replace it, never write into it
    path.write_bytes(b"\0" * size)  # same size, so only the engine can tell
    with pytest.raises(ArtifactError, match=r"^OpenVINO cannot load .*visible\.onnx: ") as info:
        load_embedder(art, "visible", "openvino")
    assert "\n" not in str(info.value)
