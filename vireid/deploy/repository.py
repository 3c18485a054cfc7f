"""Write a Triton model repository from an artifact folder, and check one (written here or edited by hand).

Writing: each model's folder gets `config.pbtxt` and `1/model.onnx` or `1/model.plan`, hard-linked from
ART_DIR when it is on the same filesystem, copied otherwise. Beside the models, `perf-<branch>.json` holds a
few real preprocessed images of the run's dataset for perf_analyzer's `--input-data`, and `README.md` the
commands to serve, query and load-test. Everything is built in a staging folder and published whole
(`vireid.io.atomic.staged_folder`), after `check_repository` has passed on it.

Checking (`vireid deploy triton --check`): every `config.pbtxt` parses as Triton's `ModelConfig` (an unknown
field or enum value names the file, line and field); its version folder holds the model file its platform or
backend loads; and for ONNX models the config's inputs and outputs (names, data types, dims without the batch)
and `max_batch_size` agree with the ONNX graph itself.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vireid.deploy.files import place_artifact
from vireid.deploy.triton import ONNX_FILE, PLAN_FILE, VERSION, TritonModel, TritonOptions, config_text
from vireid.deploy.triton import repository_models as plan_models
from vireid.errors import VireidError
from vireid.io.atomic import atomic_write_text, staged_folder
from vireid_runtime.manifest import MODALITIES, Manifest, read_manifest

PERF_IMAGES = 4
"""Real images per branch in the perf_analyzer input file."""
ONNX_TO_TRITON = {1: "TYPE_FP32", 10: "TYPE_FP16", 7: "TYPE_INT64", 6: "TYPE_INT32", 3: "TYPE_INT8", 2: "TYPE_UINT8"}
"""onnx.TensorProto element types -> Triton data types, for the IO check."""


@dataclass(frozen=True)
class Written:
    repo: Path
    models: list[TritonModel]
    left_out: list[str]


def perf_input(images: np.ndarray, input_name: str) -> dict[str, Any]:
    """perf_analyzer's --input-data document: one batch-1 sample per entry, shape without the batch dimension,
    the float32 values as little-endian bytes in base64."""
    entries = []
    for image in images.astype("<f4", copy=False):
        content = {"b64": base64.b64encode(np.ascontiguousarray(image).tobytes()).decode("ascii")}
        entries.append({input_name: {"content": content, "shape": list(image.shape)}})
    return {"data": entries}


def dataset_images(manifest: Manifest, modality: str, data: str | None, count: int = PERF_IMAGES) -> np.ndarray:
    """`count` images of the run's evaluation split for `modality`, preprocessed exactly as the graph expects."""
    from vireid.data.images import load_image
    from vireid.eval.splits import evaluation_split
    from vireid_runtime.preprocess import preprocess

    root = data or manifest.data_root
    if not root or not Path(root).exists():
        raise VireidError(f"dataset {root or '(none recorded)'} not found; pass --data PATH (images for perf_analyzer)")
    split = evaluation_split(root, manifest.data_trial)
    pool = split.visible if modality == "visible" else split.infrared
    pictures = [load_image(sample.path, sample.modality) for sample in pool[:count]]
    spec = manifest.input
    return preprocess(pictures, spec.height, spec.width, infrared=modality == "infrared")


def readme(models: list[TritonModel], manifest: Manifest, left_out: list[str]) -> str:
    spec = manifest.input
    first = models[0]
    rows = "\n".join(f"| `{m.name}` | `{m.artifact.file}` | {m.note} |" for m in models)
    shape = f"1, {spec.channels}, {spec.height}, {spec.width}"
    skipped = "".join(f"- {line}\n" for line in left_out)
    return f"""# Triton model repository written by `vireid deploy triton`

| model | from | runs |
|---|---|---|
{rows}

{("Left out:" + chr(10) + chr(10) + skipped) if skipped else ""}
Inputs: `{spec.name}`, float32 N x {spec.channels} x {spec.height} x {spec.width}, RGB in [0, 1] (pixels / 255,
resized bilinearly to {spec.height} x {spec.width} without keeping the aspect ratio); infrared images are their grey
plane replicated to 3 channels. The graph normalises and L2-normalises inside: the output `{manifest.output.name}`
(float32 N x {manifest.output.dim}) is ready for cosine similarity. Visible cameras use the `visible-*` models,
infrared cameras the `infrared-*` ones.

## Serve

```bash
docker run --gpus=1 --rm -p8000:8000 -p8001:8001 -p8002:8002 -v "$PWD":/models \\
  nvcr.io/nvidia/tritonserver:<yy.mm>-py3 tritonserver --model-repository=/models
```

Run `vireid deploy triton --check .` after editing any config.pbtxt.

## Embed one image (tritonclient, gRPC)

```python
import numpy as np
import tritonclient.grpc as grpcclient
from PIL import Image
from vireid_runtime.preprocess import preprocess

client = grpcclient.InferenceServerClient(url="localhost:8001")
batch = preprocess([Image.open("person.jpg")], {spec.height}, {spec.width}, infrared=False)  # ({shape})
request = grpcclient.InferInput("{spec.name}", list(batch.shape), "FP32")
request.set_data_from_numpy(batch)
result = client.infer("{first.name}", [request], outputs=[grpcclient.InferRequestedOutput("{manifest.output.name}")])
embedding = result.as_numpy("{manifest.output.name}")[0]
```

vireid's `triton` backend is this client with the checks: it refuses a model whose inputs, outputs or batch size
differ from the export's manifest, and every call has a deadline. Parity and serving figures against this server:

```bash
vireid bench ART_DIR --backends torch,triton --triton-url grpc://localhost:8001 --precision fp32
```

Without a GPU or the NGC container, `vireid-triton-host ART_DIR` serves the same model names and tensors.

## Load test (perf_analyzer, real images)

```bash
perf_analyzer -m {first.name} -i grpc -u localhost:8001 -b {manifest.batch.opt} \\
  --input-data perf-{first.artifact.modality}.json --concurrency-range 1:4
```

`perf-visible.json` and `perf-infrared.json` hold {PERF_IMAGES} preprocessed images of the run's dataset each
(base64 float32, shape without the batch dimension).
"""


def write_repository(
    art_dir: str | Path, out: str | Path, options: TritonOptions, *, data: str | None = None, force: bool = False
) -> Written:
    art_dir, out = Path(art_dir), Path(out)
    manifest = read_manifest(art_dir)
    models, left_out = plan_models(manifest, options)
    source = f"{art_dir.resolve() / 'manifest.json'} ({manifest.created})"
    perf = {m: perf_input(dataset_images(manifest, m, data), manifest.input.name) for m in MODALITIES}
    with staged_folder(out, force) as staging:
        for model in models:
            folder = staging / model.name
            place_artifact(art_dir, model.artifact, folder / VERSION / model.filename)
            atomic_write_text(folder / "config.pbtxt", config_text(model, source))
        for modality, document in perf.items():
            atomic_write_text(staging / f"perf-{modality}.json", json.dumps(document) + "\n")
        atomic_write_text(staging / "README.md", readme(models, manifest, left_out))
        problems = check_repository(staging)
        if problems:  # a bug in the writer, never the user's: refuse to publish it
            raise VireidError(f"the written repository fails its own check: {problems[0]}")
    return Written(out, models, left_out)


def _parse(path: Path) -> tuple[Any, str | None]:
    import tritonclient.grpc.model_config_pb2 as pb
    from google.protobuf import text_format

    try:
        return text_format.Parse(path.read_text(encoding="utf-8"), pb.ModelConfig()), None
    except (OSError, UnicodeDecodeError) as err:
        return None, f"{path}: unreadable ({err})"
    except text_format.ParseError as err:
        return None, f"{path}: {err}"


PLATFORMS = {"onnxruntime_onnx": "onnxruntime", "tensorrt_plan": "tensorrt"}
BACKEND_FILES = {"onnxruntime": ONNX_FILE, "tensorrt": PLAN_FILE, "openvino": "model.xml"}
"""The platforms and backends vireid writes, and the file each loads by default (Triton core's constants)."""


def _engine_problem(config: Any, path: Path) -> str | None:
    if config.platform and config.platform not in PLATFORMS:
        return f"{path}: platform '{config.platform}' is none of {', '.join(PLATFORMS)}"
    if config.backend and config.backend not in BACKEND_FILES:
        return f"{path}: backend '{config.backend}' is none of {', '.join(BACKEND_FILES)}"
    if not config.platform and not config.backend:
        return f"{path}: neither platform nor backend is set"
    return None


def _model_name(config: Any) -> str:
    if config.default_model_filename:
        return str(config.default_model_filename)
    return BACKEND_FILES[config.backend or PLATFORMS[config.platform]]


def _io_problems(config: Any, model_file: Path, config_path: Path) -> list[str]:
    """The config's IO against the ONNX graph's: names, data types, dims without the batch, max_batch_size."""
    import onnx
    import tritonclient.grpc.model_config_pb2 as pb

    try:
        graph = onnx.load(os.fspath(model_file), load_external_data=False).graph
    except Exception as err:  # onnx raises protobuf's DecodeError, or worse, on a file that is not ONNX
        return [f"{model_file}: not a readable ONNX graph ({type(err).__name__}: {str(err)[:120]})"]
    problems = []
    for kind, declared, actual in (("input", config.input, graph.input), ("output", config.output, graph.output)):
        by_name = {value.name: value for value in actual}
        for entry in declared:
            where = f"{config_path}: {kind} '{entry.name}'"
            if entry.name not in by_name:
                problems.append(f"{where} is not in the ONNX graph (it has {', '.join(by_name)})")
                continue
            tensor = by_name[entry.name].type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
            wanted_type = ONNX_TO_TRITON.get(tensor.elem_type, f"ONNX type {tensor.elem_type}")
            if pb.DataType.Name(entry.data_type) != wanted_type:
                problems.append(f"{where}: data_type {pb.DataType.Name(entry.data_type)}, the graph has {wanted_type}")
            graph_dims = dims[1:] if config.max_batch_size > 0 else dims
            if list(entry.dims) != graph_dims:
                problems.append(f"{where}: dims {list(entry.dims)}, the graph has {graph_dims}")
            if config.max_batch_size > 0 and dims and dims[0] not in (-1, 0) and config.max_batch_size > dims[0]:
                problems.append(f"{config_path}: max_batch_size {config.max_batch_size} > the graph's batch {dims[0]}")
    missing = sorted({value.name for value in graph.input} - {entry.name for entry in config.input})
    if missing:
        problems.append(f"{config_path}: the graph's input {', '.join(missing)} is not declared in input")
    return problems


def check_repository(repo: str | Path) -> list[str]:
    """Every problem of a Triton repository, one line each naming the file and the field (empty: it passes)."""
    repo = Path(repo)
    if not repo.is_dir():
        raise VireidError(f"{repo} is not a folder; pass the model repository written by `vireid deploy triton`")
    folders = sorted(p for p in repo.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise VireidError(f"{repo} holds no model folders; is it a Triton model repository?")
    problems: list[str] = []
    for folder in folders:
        path = folder / "config.pbtxt"
        if not path.is_file():
            problems.append(f"{folder}: no config.pbtxt")
            continue
        config, error = _parse(path)
        if error:
            problems.append(error)
            continue
        if config.name and config.name != folder.name:
            problems.append(f"{path}: name '{config.name}' differs from its folder '{folder.name}'")
        engine = _engine_problem(config, path)
        if engine:
            problems.append(engine)
            continue
        versions = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
        if not versions:
            problems.append(f"{folder}: no version folder such as {VERSION}/ (Triton loads {folder.name}/<n>/<model>)")
            continue
        for version in versions:
            model_file = version / _model_name(config)
            if not model_file.is_file():
                problems.append(f"{path}: its model file {model_file.relative_to(repo)} is missing")
            elif model_file.suffix == ".onnx":
                problems.extend(_io_problems(config, model_file, path))
    return problems
