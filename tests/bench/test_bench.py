"""`vireid bench` end to end on a tiny export of a tiny trained model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from vireid.cli.app import app
from vireid_runtime.bench_result import FORMAT, read_bench


def test_bench_completes_with_parity_latency_and_skips(demo_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    args = [
        "bench",
        str(demo_export),
        "--out",
        str(out),
        "--backends",
        "torch,ort-cpu,openvino,ort-cuda,trt",
        "--precision",
        "fp32,bf16,int8",
        "--batch",
        "1,3",
        "--runs",
        "2",
        "--warmup",
        "1",
        "--branch",
        "visible",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "bench.json").read_text())["format"] == FORMAT
    bench = read_bench(out / "bench.json")  # typed and versioned: what `auto` and the report read back

    parity = {(p.backend, p.precision): p for p in bench.parity}
    expected = {("torch", "fp32"), ("ort-cpu", "fp32"), ("ort-cpu", "int8"), ("openvino", "fp32"), ("openvino", "int8")}
    assert expected <= set(parity)
    for row in parity.values():  # the tail beside the minimum and the mean, on every image judged
        cosine = row.figures
        assert cosine.cos_p01 is not None and cosine.cos_min <= cosine.cos_p01 <= 1.0 + 1e-9
        assert cosine.below is not None and (cosine.below == 0) == (cosine.cos_min >= cosine.bar.cos_min)
    torch_entry = parity[("torch", "fp32")].figures
    assert torch_entry.cos_min > 0.999999 and torch_entry.max_abs_diff == 0.0
    for backend in ("ort-cpu", "openvino"):
        fp32 = parity[(backend, "fp32")]
        cosine = fp32.figures
        assert cosine.cos_min >= 0.99999 and cosine.bar.cos_min == 0.99999 and fp32.cosine_ok, backend
        (split,) = fp32.splits.values()
        assert abs(split.dmAP) < 0.01
        assert parity[(backend, "int8")].files["visible"] == "visible.int8-cpu.onnx"  # the u8s8 graph, both
    assert "torch fp32 on " in bench.reference and "rebuilt from the run directory" in bench.reference

    latency = {(e.backend, e.precision, e.batch) for e in bench.latency}
    for backend, precision in expected:
        assert {(backend, precision, 1), (backend, precision, 3)} <= latency
    entry = bench.latency[0]
    for timing in (entry.compute, entry.end_to_end):
        assert timing.p50_ms > 0 and timing.p99_ms >= timing.p50_ms and timing.images_per_s > 0

    skipped = {(s.backend, s.precision): s.reason for s in bench.skipped}
    for gpu_backend in ("ort-cuda", "trt"):  # each either ran or says why not: never both, never neither
        assert ((gpu_backend, "fp32") in skipped) != ((gpu_backend, "fp32") in parity), gpu_backend
    if bench.settings.device == "cpu":
        assert skipped[("ort-cuda", "fp32")] == "torch sees no CUDA GPU, so --device is cpu"  # not passed
    assert skipped[("ort-cpu", "bf16")] == "ort-cpu has no bf16 mode (it runs fp32, fp16, int8)"
    # bf16 either ran, held to the fp16 bar, or says the CPU lacks it
    if ("openvino", "bf16") in parity:
        assert parity[("openvino", "bf16")].figures.bar.cos_min == 0.999
    else:
        assert "no bf16 support" in skipped[("openvino", "bf16")]
    assert bench.environment.machine.cpu_count >= 1 and "openvino" in bench.environment.versions
    with Image.open(out / "bench.png") as image:
        image.verify()
    markdown = (out / "bench.md").read_text()
    assert "## Parity against the reference" in markdown and "openvino int8" in markdown


def test_bench_without_run_directory_compares_to_fp32_onnx(demo_export: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            str(demo_export),
            "--out",
            str(tmp_path),
            "--run",
            str(tmp_path / "gone"),
            "--backends",
            "torch,ort-cpu",
            "--precision",
            "int8",
            "--batch",
            "2",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--branch",
            "infrared",
        ],
    )
    assert result.exit_code == 0, result.output
    bench = read_bench(tmp_path / "bench.json")
    assert "fp32 ONNX" in bench.reference
    assert any(s.backend == "torch" for s in bench.skipped)
    assert [(p.backend, p.precision) for p in bench.parity] == [("ort-cpu", "int8")]


def test_a_bad_or_absent_device_is_one_line(demo_export: Path) -> None:
    import torch

    cases = [("gpu", "device must be cpu, cuda or cuda:N")]
    if not torch.cuda.is_available():
        cases.append(("cuda", "torch sees no CUDA GPU here; pass --device cpu"))
    for device, message in cases:
        result = CliRunner().invoke(app, ["bench", str(demo_export), "--device", device, "--runs", "1"])
        assert result.exit_code == 1 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_the_torch_reference_on_a_gpu_is_strict_float32() -> None:
    import torch

    from vireid.bench.torch_backend import strict_float32

    conv, matmul = torch.backends.cudnn.conv, torch.backends.cuda.matmul
    before = (conv.fp32_precision, matmul.fp32_precision)
    try:
        conv.fp32_precision = matmul.fp32_precision = "tf32"  # torch's default for cuDNN convolutions
        strict_float32()
        assert (conv.fp32_precision, matmul.fp32_precision) == ("ieee", "ieee")
    finally:
        conv.fp32_precision, matmul.fp32_precision = before


def test_bench_and_search_on_a_missing_artifact_dir_fail_in_one_line(tmp_path: Path) -> None:
    """The runtime's own errors (here ArtifactError) reach the user as one line, not a traceback."""
    image = tmp_path / "query.jpg"
    Image.new("RGB", (48, 96)).save(image)
    for args in (
        ["bench", str(tmp_path / "missing"), "--data", str(tmp_path)],
        ["search", str(tmp_path / "missing"), "--query", str(image), "--gallery", str(tmp_path)],
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "does not exist" in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_branch_choices_map_to_modalities_and_a_wrong_one_is_one_line(tmp_path: Path) -> None:
    from vireid.bench.runner import branches

    assert branches("both") == ("visible", "infrared") and branches("infrared") == ("infrared",)
    result = CliRunner().invoke(app, ["bench", str(tmp_path), "--branch", "thermal"])
    assert result.exit_code == 1 and "--branch must be visible, infrared or both" in result.output, result.output
    assert "Traceback" not in result.output


def test_parity_verdicts_follow_the_cosine_bar_and_the_retrieval_deltas(synthetic_sysu: Path) -> None:
    """Identity-clustered embeddings retrieve perfectly; a small perturbation keeps that, a large one does not."""
    import numpy as np

    from vireid.bench.parity import Embeddings, compare
    from vireid.eval.splits import evaluation_split
    from vireid_runtime.parity import Bar

    split = evaluation_split(synthetic_sysu)
    rng = np.random.default_rng(0)
    centres = {pid: rng.normal(size=64) for pid in {s.pid for s in (*split.visible, *split.infrared)}}

    def embed(samples: list, noise: float) -> np.ndarray:  # type: ignore[type-arg]
        rows = np.stack([centres[s.pid] + noise * rng.normal(size=64) for s in samples])
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    reference = Embeddings(embed(split.visible, 0.05), embed(split.infrared, 0.05))

    def perturbed(noise: float) -> Embeddings:
        def shake(rows: np.ndarray) -> np.ndarray:
            moved = rows + noise * rng.normal(size=rows.shape)
            return moved / np.linalg.norm(moved, axis=1, keepdims=True)

        return Embeddings(shake(reference.visible), shake(reference.infrared))

    bar = Bar(cos_min=0.99, cos_mean=0.995)
    files = {"visible": "v.onnx", "infrared": "i.onnx"}
    close = compare(reference, perturbed(0.001), split, bar, backend="x", precision="int8", files=files)
    assert close.cosine_ok and close.retrieval_ok and close.passed, close
    far = compare(reference, perturbed(3.0), split, bar, backend="x", precision="int8", files=files)
    assert not far.cosine_ok and not far.retrieval_ok and not far.passed, far


@pytest.mark.gpu
@pytest.mark.trt
def test_bench_on_every_nvidia_backend_with_the_torch_reference_on_cuda(trt_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    args = ["bench", str(trt_export), "--out", str(out), "--backends", "torch,ort-cpu,ort-cuda,ort-trt,trt"]
    result = CliRunner().invoke(app, [*args, "--device", "cuda", "--batch", "1,8", "--runs", "3", "--warmup", "1"])
    assert result.exit_code == 0, result.output
    bench = read_bench(out / "bench.json")
    assert bench.settings.device == "cuda" and "torch fp32 on cuda (TF32 off)" in bench.reference
    ran = {(p.backend, p.precision) for p in bench.parity}
    assert {("trt", "fp32"), ("trt", "fp16"), ("trt", "int8")} <= ran
    for entry in bench.parity:
        assert entry.cosine_ok, (entry.backend, entry.precision, entry.cos_min)
    skipped = {(s.backend, s.precision) for s in bench.skipped}
    for name in ("ort-cuda", "ort-trt"):  # onnxruntime-gpu may be missing: then skipped, with its reason
        assert ((name, "fp32") in ran) != ((name, "fp32") in skipped), name


def test_sysu_retrieval_is_the_mean_over_its_gallery_trials(synthetic_sysu: Path) -> None:
    import numpy as np

    from vireid.bench.parity import Embeddings, retrieval
    from vireid.eval.protocols import score
    from vireid.eval.splits import evaluation_split

    split = evaluation_split(synthetic_sysu)
    rng = np.random.default_rng(0)
    embeddings = Embeddings(rng.normal(size=(len(split.visible), 16)), rng.normal(size=(len(split.infrared), 16)))
    (family, figures), *others = retrieval(embeddings, split).items()
    assert not others and family == split.description
    trials = [
        score(embeddings.of(t.query, split), embeddings.of(t.gallery, split), t.query, t.gallery, t.protocol).summary()
        for t in split.tasks
    ]
    for key in ("R1", "mAP", "mINP"):
        assert getattr(figures, key) == pytest.approx(np.mean([float(trial[key]) for trial in trials]))
    assert len({round(float(trial["R1"]), 6) for trial in trials}) > 1, "the trials differ, so the mean matters"
