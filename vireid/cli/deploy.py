"""`vireid deploy`: a Triton model repository, a Triton host serving the export, or a DeepStream tracker ReID
config, from an artifact folder.

Thin wrappers around `vireid.deploy`; the imports happen inside the commands so `vireid --help` stays
instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vireid.cli.common import csv_list, register, user_errors

app = typer.Typer(
    help="Serve the exported branches: a Triton Inference Server model repository, a Triton host that serves "
    "them wherever pip runs, or the ReID section of a DeepStream Gst-nvtracker config.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@user_errors
def triton_cli(
    art_dir: Annotated[
        Path | None, typer.Argument(help="Artifact directory written by `vireid export` (not with --check).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="The model repository folder to write.")] = None,
    check: Annotated[
        Path | None,
        typer.Option("--check", help="Check an existing repository (also a hand-edited one) instead of writing."),
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="Instance kind of the ONNX Runtime models: cpu or gpu.")] = "gpu",
    count: Annotated[int, typer.Option("--count", help="Instances per model.")] = 1,
    queue_delay_us: Annotated[
        int, typer.Option("--queue-delay-us", help="Dynamic batching's longest wait for a fuller batch (µs).")
    ] = 100,
    tensorrt_accelerator: Annotated[
        bool,
        typer.Option(
            "--tensorrt-accelerator",
            help="GPU ONNX models through ONNX Runtime's TensorRT execution accelerator (precision from the graph).",
        ),
    ] = False,
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset root for perf_analyzer's images (default: the export's).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
) -> None:
    """Write a Triton model repository: one model per branch and artifact, each config checked against Triton's
    own ModelConfig schema and the ONNX graph.

    Models: `<branch>-<precision>` on the onnxruntime backend (the int8 one from the int8 graph of the instance
    kind), `<branch>-<precision>-trt` per TensorRT plan (GPU only; a plan is tied to its GPU and TensorRT
    release), `<branch>-<precision>-openvino` on the OpenVINO backend (CPU). Each config carries
    max_batch_size from the export's batch range, inputs and outputs without the batch dimension, dynamic
    batching on the profile's batch sizes, the instance group and a warm-up batch of zeros. The repository's
    README.md gives the tritonserver command, a tritonclient snippet and a perf_analyzer command over real
    images of the run's dataset (perf-visible.json, perf-infrared.json).

    With --check REPO_DIR: parse every config.pbtxt as ModelConfig, check its version folder and model file,
    and its inputs and outputs against the ONNX graph; one line per problem, exit 1 if any.
    """
    from vireid.errors import VireidError

    if check is not None:
        if art_dir is not None or out is not None:
            raise VireidError("--check takes only the repository: vireid deploy triton --check REPO_DIR")
        _check_triton(check)
        return
    if art_dir is None or out is None:
        raise VireidError("give ART_DIR and --out REPO_DIR (or --check REPO_DIR)")
    from vireid.deploy.repository import write_repository
    from vireid.deploy.triton import TritonOptions

    options = TritonOptions(
        kind=kind, count=count, queue_delay_us=queue_delay_us, tensorrt_accelerator=tensorrt_accelerator
    )
    written = write_repository(art_dir, out, options, data=str(data) if data else None, force=force)
    for model in written.models:
        typer.echo(f"{model.name}: {model.note}")
    for line in written.left_out:
        typer.echo(f"left out {line}")
    typer.echo(f"wrote {written.repo} ({len(written.models)} models); serve it with the command in its README.md")


def _check_triton(repo: Path) -> None:
    """One line per problem on stderr and exit 1, or one line saying the repository is sound."""
    from vireid.deploy.repository import check_repository

    problems = check_repository(repo)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{repo}: every model's config parses as Triton's ModelConfig and matches its graph")


@user_errors
def triton_host_cli(
    art_dir: Annotated[Path, typer.Argument(help="Artifact directory written by `vireid export`.")],
    backend: Annotated[str, typer.Option("--backend", help="Runtime backend of every branch.")] = "auto",
    precision: Annotated[str, typer.Option("--precision", help="Comma-separated precisions to serve.")] = "fp32",
    host: Annotated[str, typer.Option("--host", help="Address to listen on (default: loopback only).")] = "127.0.0.1",
    grpc_port: Annotated[int, typer.Option("--grpc-port")] = 8001,
    http_port: Annotated[int, typer.Option("--http-port")] = 8000,
    metrics_port: Annotated[int, typer.Option("--metrics-port")] = 8002,
    max_queue_delay_us: Annotated[
        int, typer.Option("--max-queue-delay-us", help="Dynamic batching's longest wait for a fuller batch (µs).")
    ] = 100,
    threads: Annotated[int | None, typer.Option("--threads", help="Inference threads per model.")] = None,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", help="A new folder for the server's files, removed on exit.")
    ] = None,
) -> None:
    """Serve the export's branches as Triton models through PyTriton, until Ctrl-C or SIGTERM: the runtime
    `vireid-triton-host` command, run from here.

    Each branch is a model named, shaped and batched as `vireid deploy triton` writes it (`visible-fp32`, ...),
    running the embedder --backend gives (auto: OpenVINO or ONNX Runtime on a CPU, TensorRT on a GPU), so the
    same client (`vireid bench --backends triton --triton-url grpc://HOST:8001`) works against it and against
    NGC's tritonserver. PyTriton needs numpy < 2, so it is usually installed in its own environment; where it is
    missing this command says how.
    """
    from vireid.errors import VireidError
    from vireid_runtime.triton_host import HostOptions, serve

    try:
        options = HostOptions(
            art_dir=art_dir,
            backend=backend,
            precisions=tuple(csv_list(precision, "--precision")),
            host=host,
            grpc_port=grpc_port,
            http_port=http_port,
            metrics_port=metrics_port,
            max_queue_delay_us=max_queue_delay_us,
            threads=threads,
            workspace=workspace,
        )
    except ValueError as err:
        raise VireidError(str(err)) from None
    serve(options, lambda line: typer.echo(line, err=True))


@user_errors
def deepstream_cli(
    art_dir: Annotated[Path, typer.Argument(help="Artifact directory written by `vireid export`.")],
    branch: Annotated[str, typer.Option("--branch", help="visible or infrared: the camera kind it serves.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the config and the model file.")],
    precision: Annotated[str, typer.Option("--precision", help="fp32, fp16 or int8.")] = "fp32",
    reid_type: Annotated[
        int,
        typer.Option("--reid-type", help="0 dummy, 1 NvDeepSORT, 2 re-association (NvDCF), 3 both."),
    ] = 2,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="ReID batch size (default: the export's optimum).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
) -> None:
    """Write the ReID section of a Gst-nvtracker (NvDCF / NvDeepSORT) config for one branch, with its model.

    The values come from the manifest: onnxFile, or modelEngineFile when a TensorRT plan of that precision
    exists; networkMode from the precision; inferDims [3, H, W]; netScaleFactor 1/255 and offsets 0 (the graph
    takes RGB in [0, 1] and normalises inside); RGB, NCHW; reidFeatureSize the embedding size;
    addFeatureNormalization 0 (the graph L2-normalises). A visible camera's pipeline takes the visible branch,
    an infrared camera's the infrared one.
    """
    from vireid.deploy.files import write_deepstream

    path = write_deepstream(
        art_dir, out, branch, precision=precision, reid_type=reid_type, batch_size=batch_size, force=force
    )
    typer.echo(f"wrote {path} and its model; merge its ReID section into your tracker config (ll-config-file)")


register(app, "triton", triton_cli)
register(app, "triton-host", triton_host_cli)
register(app, "deepstream", deepstream_cli)
