"""Training arithmetic: what `train.amp` / `amp_dtype` resolve to per device, what the run records, and that a
bf16 step runs (and an fp16 one refuses) on a CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.engine.test_train import TINY_TRAIN
from vireid.cli.app import app
from vireid.config import TrainConfig, load_run_config, training_config
from vireid.engine import precision
from vireid.engine.precision import cpu_has_native_bf16, resolve_amp_dtype, resolved_train_config, step_precision
from vireid.errors import VireidError
from vireid.io.rundir import load_config

CPU, CUDA = torch.device("cpu"), torch.device("cuda", 0)


def test_native_bf16_is_read_from_the_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("model name : Xeon\nflags : fpu avx2 avx512f amx_bf16 amx_tile\n")
    assert cpu_has_native_bf16(info)
    info.write_text("model name : EPYC\nflags : fpu avx2 avx512f avx512_vnni avx512_bf16\n")  # Zen 4 / 5
    assert cpu_has_native_bf16(info)
    info.write_text("model name : EPYC\nflags : fpu avx2 avx512f avx512_vnni amx_bf16x\n")  # a prefix is not a flag
    assert not cpu_has_native_bf16(info)
    assert not cpu_has_native_bf16(tmp_path / "absent")


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_a_cpu_is_bf16_only_where_it_is_native(
    monkeypatch: pytest.MonkeyPatch, native: bool, expected: str
) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    assert resolve_amp_dtype(TrainConfig(), CPU) == expected
    assert resolve_amp_dtype(TrainConfig(amp=False), CPU) == "fp32"
    assert resolve_amp_dtype(TrainConfig(amp_dtype="bf16"), CPU) == "bf16"  # asked for: emulated, but allowed
    with pytest.raises(VireidError, match="fp16 needs a CUDA GPU"):
        resolve_amp_dtype(TrainConfig(amp_dtype="fp16"), CPU)


@pytest.mark.parametrize(("bf16", "expected"), [(True, "bf16"), (False, "fp16")])
def test_auto_on_a_gpu_prefers_bf16_and_falls_back_to_fp16(
    monkeypatch: pytest.MonkeyPatch, bf16: bool, expected: str
) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Tesla T4")
    assert resolve_amp_dtype(TrainConfig(), CUDA) == expected
    assert resolve_amp_dtype(TrainConfig(amp_dtype="fp16"), CUDA) == "fp16"
    if not bf16:
        with pytest.raises(VireidError, match="Tesla T4 has no bf16"):
            resolve_amp_dtype(TrainConfig(amp_dtype="bf16"), CUDA)


def test_only_fp16_uses_a_gradient_scaler() -> None:
    assert precision.StepPrecision("cuda", "fp16").needs_scaler
    assert not precision.StepPrecision("cuda", "bf16").needs_scaler
    assert not precision.StepPrecision("cpu", "fp32").autocast_enabled


def test_the_run_records_what_auto_resolved_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    recorded = resolved_train_config(TrainConfig(), step_precision(TrainConfig(), CPU))
    assert (recorded.amp, recorded.amp_dtype) == (False, "auto")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    recorded = resolved_train_config(TrainConfig(), step_precision(TrainConfig(), CPU))
    assert (recorded.amp, recorded.amp_dtype) == (True, "bf16")


def test_amp_and_compile_flags_reach_the_config() -> None:
    config = training_config(amp="fp16", compile_model=True)
    assert (config.train.amp, config.train.amp_dtype, config.train.compile) == (True, "fp16", True)
    assert training_config(amp="off").train.amp is False
    assert load_run_config().train.compile is False
    with pytest.raises(VireidError, match="--amp must be one of auto, bf16, fp16 or off"):
        training_config(amp="int8")


def test_a_bf16_cpu_run_trains_and_records_bf16(tmp_path: Path, synthetic_sysu: Path) -> None:
    """bf16 autocast on a CPU (what `auto` picks with AMX or AVX-512-BF16): the step runs, the loss is finite,
    the config says so."""
    overrides = [
        a for o in (*TINY_TRAIN, "train.epochs=1", "train.batches_per_epoch=2", "data.workers=0") for a in ("--set", o)
    ]
    run = tmp_path / "run"
    args = ["train", "--data", str(synthetic_sysu), "--out", str(run), "--amp", "bf16", *overrides]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    train_cfg = load_config(run).train
    assert (train_cfg.amp, train_cfg.amp_dtype) == (True, "bf16")
    fp16 = CliRunner().invoke(
        app, ["train", "--data", str(synthetic_sysu), "--out", str(tmp_path / "b"), "--amp", "fp16", *overrides]
    )
    if torch.cuda.is_available():  # the run trains on the GPU in fp16 (with its gradient scaler)
        assert fp16.exit_code == 0, fp16.output
        assert load_config(tmp_path / "b").train.amp_dtype == "fp16"
    else:
        assert fp16.exit_code != 0 and "fp16 needs a CUDA GPU" in fp16.output


@pytest.mark.gpu
def test_a_compiled_amp_gpu_run_trains(tmp_path: Path, synthetic_sysu: Path) -> None:
    overrides = [a for o in (*TINY_TRAIN, "train.epochs=1", "data.workers=0") for a in ("--set", o)]
    run = tmp_path / "run"
    args = ["train", "--data", str(synthetic_sysu), "--out", str(run), "--compile", "--set", "train.device='cuda'"]
    result = CliRunner().invoke(app, [*args, *overrides])
    assert result.exit_code == 0, result.output
    train_cfg = load_config(run).train
    assert train_cfg.compile and train_cfg.amp and train_cfg.amp_dtype in ("bf16", "fp16")
