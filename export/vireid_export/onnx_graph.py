"""torch branch -> single-file ONNX with a dynamic batch axis, through the dynamo exporter (opset 19 by default).

The branch keeps its MGSA / MSAM modules and its in-graph ImageNet normalisation, so the graph takes
float32 N x 3 x H x W images in [0, 1] and returns the L2-normalised N x D embedding. H and W are static
(the attention and PCB strips are cut at fixed rows). The file is checked with `onnx.checker` (full check,
which includes strict shape inference) before it is moved into place atomically.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
from pathlib import Path
from typing import Any

import onnx
import torch

from vireid.errors import VireidError
from vireid.io.atomic import atomic_path
from vireid_export.defaults import DEFAULT_OPSET, MIN_OPSET
from vireid_runtime.manifest import INPUT_NAME, OUTPUT_NAME


def export_onnx(branch: torch.nn.Module, path: Path, *, height: int, width: int, opset: int = DEFAULT_OPSET) -> None:
    """Export `branch` (eval mode) to `path`; raises VireidError if the exporter or the checker refuses it."""
    if opset < MIN_OPSET:
        raise VireidError(f"--opset {opset} is too old; the dynamo exporter needs opset >= {MIN_OPSET}")
    branch = branch.eval()
    dtype = next(branch.parameters()).dtype
    example = torch.rand(2, 3, height, width, dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1, max=4096)
    captured = io.StringIO()
    try:
        # The exporter narrates every stage on stdout; keep that out of the CLI's output.
        with contextlib.redirect_stdout(captured), torch.no_grad():
            program = torch.onnx.export(
                branch,
                (example,),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes={"images": {0: batch}},
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
    except Exception as err:
        raise VireidError(f"ONNX export of the {dtype} branch failed: {str(err).splitlines()[0]}") from None
    if program is None:
        raise VireidError("ONNX export produced no program")
    with atomic_path(path) as tmp:
        program.save(os.fspath(tmp), external_data=False)
        check_onnx(tmp)


def check_onnx(path: Path) -> onnx.ModelProto:
    """Full `onnx.checker` pass (including shape inference) plus the I/O contract of the runtime."""
    try:
        onnx.checker.check_model(os.fspath(path), full_check=True)
    except onnx.checker.ValidationError as err:
        raise VireidError(f"{path.name} fails onnx.checker: {str(err).splitlines()[0]}") from None
    model = onnx.load(os.fspath(path))
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    if inputs != [INPUT_NAME] or outputs != [OUTPUT_NAME]:
        raise VireidError(f"{path.name} has inputs {inputs} and outputs {outputs}, expected [images] -> [embedding]")
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    if not batch_dim.dim_param:
        raise VireidError(f"{path.name} has a static batch axis; the export must keep it dynamic")
    return model


def module_path(node: onnx.NodeProto) -> list[str]:
    """The torch module scopes the exporter recorded for `node`, outermost first, ending with the op's own name
    (e.g. ["trunk.layer3", "trunk.layer3.0", "trunk.layer3.0.conv1", "conv2d_12"]); empty when unrecorded."""
    scopes = next((p.value for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"), "")
    try:
        return [s for s in ast.literal_eval(scopes) if s] if scopes else []
    except (ValueError, SyntaxError):
        return []


def opset_of(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def tensor_types(model: onnx.ModelProto) -> dict[str, Any]:
    """Element type of every value with a known type (inputs, outputs, value_info, initializers)."""
    types = {v.name: v.type.tensor_type.elem_type for v in (*model.graph.input, *model.graph.output)}
    types.update({v.name: v.type.tensor_type.elem_type for v in model.graph.value_info})
    types.update({i.name: i.data_type for i in model.graph.initializer})
    return types
