"""ONNX Runtime CPU sessions for the export's own measurements: the gate and the precision searches.

Two ways to run a Q/DQ graph on the CPU, and the export needs both (docs/architecture.md, "Parity"):
- as ONNX Runtime deploys it: Q/DQ pairs fused into integer kernels. That is what `ort-cpu` users get, so the
  CPU-flavour int8 graph is judged this way. On x86 CPUs without VNNI these kernels multiply u8 x s8 pairs
  into 16-bit sums that can saturate, which is why that flavour uses 7-bit weights (`int8/flavours.py`);
- emulated (`emulate_qdq=True`, ONNX Runtime's `session.disable_quant_qdq`): every Q/DQ node runs as written
  and the convolutions compute in float on the dequantized values. That is the arithmetic TensorRT performs
  with int32 accumulation on a GPU, so the TensorRT-flavour graph is judged this way here; judging it through
  the CPU's saturating kernels would fail graphs a GPU runs correctly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx

from vireid.errors import VireidError
from vireid_runtime.manifest import INPUT_NAME


def cpu_session(
    model: onnx.ModelProto | Path, *, emulate_qdq: bool = False, threads: int | None = None, spinning: bool = True
) -> object:
    """An ONNX Runtime CPU session for a graph given as a file or an in-memory ModelProto.

    `spinning=False` lets idle worker threads sleep: sessions timed in turns must not compete with the spinning
    workers of the one that ran just before (`benchmarks/float_layer_cost.py` measured 40 ms instead of 16)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    if emulate_qdq:
        options.add_session_config_entry("session.disable_quant_qdq", "1")
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = os.fspath(model) if isinstance(model, Path) else model.SerializeToString()
    try:
        return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own Fail / InvalidGraph types
        name = model.name if isinstance(model, Path) else "the graph"
        raise VireidError(f"ONNX Runtime cannot load {name}: {str(err).splitlines()[0]}") from None


def session_embed(session: object, batch: np.ndarray, chunk: int = 32) -> np.ndarray:
    """Embed `batch` (float32 N x 3 x H x W) through `session`, `chunk` images at a time."""
    run = session.run  # type: ignore[attr-defined]
    parts = [run(None, {INPUT_NAME: batch[i : i + chunk]})[0] for i in range(0, len(batch), chunk)]
    return np.concatenate(parts).astype(np.float32, copy=False)
