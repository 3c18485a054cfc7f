"""The interface every backend promises, checked once for every backend that runs on this machine's CPU.

The list comes from the backend registry, so a new CPU backend is held to the same contract without a line
here: shape and dtype errors name the expected shape, batch 1 and batch N agree, batches beyond the profile are
split, a closed embedder says so, the backend loads and embeds with torch blocked, and a missing engine is
`BackendUnavailable`, never an ImportError.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vireid_runtime import load_embedder
from vireid_runtime.backends import BACKENDS, cpu_backends

ROOT = Path(__file__).resolve().parents[2]
CPU_BACKENDS = [pytest.param(name, id=name) for name in cpu_backends()]


def _runs_here(name: str) -> None:
    reason = BACKENDS[name].probe()
    if reason:
        pytest.skip(reason)


def _batch(embedder, count: int, seed: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    spec = embedder.input_spec
    return np.random.default_rng(seed).random((count, 3, spec.height, spec.width), dtype=np.float32)


def test_every_cpu_backend_of_the_registry_is_covered() -> None:
    assert {"ort-cpu", "openvino"} <= set(cpu_backends())


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_input_validation_names_the_expected_shape(demo_export: Path, name: str) -> None:
    _runs_here(name)
    with load_embedder(demo_export, "visible", name) as embedder:
        h, w = embedder.input_spec.height, embedder.input_spec.width
        good = np.zeros((2, 3, h, w), dtype=np.float32)
        cases = {  # what each error must name besides the expected shape
            "rank 3": good[0],
            "got 1 channels": np.zeros((2, 1, h, w), dtype=np.float32),
            f"got size {h + 8} x {w}": np.zeros((2, 3, h + 8, w), dtype=np.float32),
            "got dtype float64": good.astype(np.float64),
            "got list": good.tolist(),
            "empty batch": good[:0],
        }
        for problem, value in cases.items():
            for call in (embedder.embed, lambda batch: embedder.time_compute(batch, 0, 1)):
                with pytest.raises(ValueError, match=rf"float32 N x 3 x {h} x {w}") as info:
                    call(value)  # type: ignore[arg-type]
                assert problem in str(info.value), (problem, str(info.value))


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_batch_one_and_batch_n_agree_and_are_normalised(demo_export: Path, name: str, precision: str) -> None:
    _runs_here(name)
    with load_embedder(demo_export, "infrared", name, precision) as embedder:
        batch = _batch(embedder, 5)
        together = embedder.embed(batch)
        alone = np.concatenate([embedder.embed(batch[i : i + 1]) for i in range(5)])
        assert together.shape == (5, embedder.output_spec.dim) and together.dtype == np.float32
        assert embedder.backend == name and embedder.precision == precision
        np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-3)
        np.testing.assert_allclose(together, alone, atol=2e-3 if precision == "int8" else 1e-5)
        times = embedder.time_compute(batch, warmup=1, runs=2)
        assert len(times) == 2 and min(times) > 0


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_batches_larger_than_the_profile_are_split(demo_export: Path, name: str) -> None:
    _runs_here(name)
    with load_embedder(demo_export, "visible", name) as embedder:
        assert embedder.max_batch == 16
        calls: list[int] = []
        run = embedder._infer
        embedder._infer = lambda chunk: calls.append(len(chunk)) or run(chunk)  # type: ignore[method-assign]
        batch = _batch(embedder, 37)
        out = embedder.embed(batch)
        assert calls == [16, 16, 5] and out.shape == (37, embedder.output_spec.dim)
        np.testing.assert_allclose(out[20], embedder.embed(batch[20:21])[0], atol=1e-5)


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_a_closed_embedder_says_so_and_closing_twice_is_safe(demo_export: Path, name: str) -> None:
    _runs_here(name)
    embedder = load_embedder(demo_export, "visible", name)
    batch = _batch(embedder, 2)
    embedder.embed(batch)
    embedder.close()
    embedder.close()
    for call in (embedder.embed, lambda b: embedder.time_compute(b, 0, 1)):
        with pytest.raises(RuntimeError, match=rf"{name} embedder of visible\.onnx is closed"):
            call(batch)


def _in_a_slim_process(
    code: str, blocked: tuple[str, ...], absent: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run `code` with only the runtime on the path, `blocked` top-level modules raising on import, and `absent`
    ones looking not installed (None in sys.modules: `import` fails and `find_spec` finds nothing)."""
    prelude = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
for name in {absent!r}:
    sys.modules[name] = None
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "runtime")}
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_the_backend_embeds_with_torch_and_vireid_blocked(demo_export: Path, name: str) -> None:
    _runs_here(name)
    code = f"""
import numpy as np
from vireid_runtime import load_embedder
embedder = load_embedder({str(demo_export)!r}, 'infrared', backend={name!r}, precision='int8')
spec = embedder.input_spec
out = embedder.embed(np.random.default_rng(0).random((3, 3, spec.height, spec.width), dtype=np.float32))
assert out.shape == (3, embedder.output_spec.dim), out.shape
assert not [m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'vireid', 'vireid_export')]
print('ok')
"""
    result = _in_a_slim_process(code, ("torch", "torchvision", "vireid", "vireid_export", "safetensors"))
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_a_missing_engine_is_backend_unavailable_in_one_line(demo_export: Path, name: str) -> None:
    engine = BACKENDS[name].engine
    code = f"""
from vireid_runtime import BackendUnavailable, load_embedder
from vireid_runtime.backends import BACKENDS
assert BACKENDS[{name!r}].probe(), 'the probe sees the engine is missing'
try:
    load_embedder({str(demo_export)!r}, 'visible', backend={name!r})
except BackendUnavailable as err:
    assert '\\n' not in str(err) and 'install' in str(err), str(err)
    print('refused:', err)
"""
    result = _in_a_slim_process(code, ("torch",), absent=(engine,))
    assert result.returncode == 0 and "refused:" in result.stdout, result.stderr[-2000:]


def test_an_unknown_backend_or_a_precision_it_lacks_is_a_value_error(demo_export: Path) -> None:
    with pytest.raises(ValueError, match=r"backend must be one of ort-cpu, .*openvino, triton or auto"):
        load_embedder(demo_export, "visible", "tflite")
    with pytest.raises(ValueError, match="ort-cpu runs fp32, fp16, int8, not bf16"):
        load_embedder(demo_export, "visible", "ort-cpu", "bf16")
    with pytest.raises(ValueError, match="openvino runs fp32, bf16, int8, not fp16"):
        load_embedder(demo_export, "visible", "openvino", "fp16")
