"""`vireid search`: rank-1 after demo training, the ranked-list PNG, the content-keyed cache, no torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from vireid.cli.app import app
from vireid.data.layout import identity_of
from vireid.data.sysu import SYSUMM01
from vireid.search.engine import search


def _gallery_list(data: Path, tmp_path: Path) -> Path:
    listing = tmp_path / "gallery.txt"
    listing.write_text("".join(f"{s.path}\n" for s in SYSUMM01(data).gallery("all", 0, 1)))
    return listing


def test_search_finds_the_query_identity_at_rank_one(demo_export: Path, synthetic_sysu: Path, tmp_path: Path) -> None:
    sysu = SYSUMM01(synthetic_sysu)
    gallery = _gallery_list(synthetic_sysu, tmp_path)
    queries = {}
    for sample in sysu.query("all"):  # one infrared query per test identity: a handful of trials
        queries.setdefault(sample.pid, sample)
    hits = 0
    for sample in queries.values():
        result = search(demo_export, sample.path, gallery, top_k=5, cache_dir=tmp_path / "cache")
        assert result.query_id == sample.pid and len(result.ranked) == 5
        hits += result.ranked[0].crop.identity == sample.pid
    assert hits > len(queries) / 2, f"{hits} of {len(queries)} queries found their identity at rank 1"


def test_cli_prints_the_ranking_writes_a_png_and_reuses_the_cache(
    demo_export: Path, synthetic_sysu: Path, tmp_path: Path
) -> None:
    query = SYSUMM01(synthetic_sysu).query("all")[0].path
    gallery = _gallery_list(synthetic_sysu, tmp_path)
    args = [
        "search",
        str(demo_export),
        "--query",
        query,
        "--gallery",
        str(gallery),
        "--top-k",
        "4",
        "--out",
        str(tmp_path / "ranked.png"),
        "--cache",
        str(tmp_path / "cache"),
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    size = len(gallery.read_text().splitlines())
    assert f"(0 cached, {size} embedded)" in first.output
    assert len([line for line in first.output.splitlines() if line.strip().startswith(("1 ", "2 ", "3 ", "4 "))]) == 4
    with Image.open(tmp_path / "ranked.png") as picture:
        picture.verify()
    with Image.open(tmp_path / "ranked.png") as picture:
        assert picture.width > 5 * 64 and picture.height >= 128
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and f"({size} cached, 0 embedded)" in second.output


def test_cache_is_keyed_by_content_not_by_name(demo_export: Path, synthetic_sysu: Path, tmp_path: Path) -> None:
    sysu = SYSUMM01(synthetic_sysu)
    copies = tmp_path / "copies"
    copies.mkdir()
    for index, sample in enumerate(sysu.gallery("all", 0, 1)[:5]):
        (copies / f"renamed_{index}.jpg").write_bytes(Path(sample.path).read_bytes())
    query = sysu.query("all")[0].path
    search(demo_export, query, _gallery_list(synthetic_sysu, tmp_path), cache_dir=tmp_path / "cache")
    renamed = search(demo_export, query, copies, cache_dir=tmp_path / "cache")
    assert (renamed.cache_hits, renamed.cache_misses) == (5, 0)
    assert identity_of("x/cam3/0007/0012.jpg") == 7 and identity_of("x/Thermal/285/a_t_1_285.bmp") == 285
    assert identity_of(copies / "renamed_0.jpg") is None


def test_search_runs_without_torch(demo_export: Path, synthetic_sysu: Path, tmp_path: Path) -> None:
    query = SYSUMM01(synthetic_sysu).query("all")[0].path
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'torchvision'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
from vireid.cli.app import app
try:
    app(['search', {str(demo_export)!r}, '--query', {query!r}, '--gallery', {str(synthetic_sysu / "cam1")!r},
         '--cache', {str(tmp_path / "cache")!r}])
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
assert 'torch' not in sys.modules
print('ok')
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def test_bad_inputs_are_one_line_errors(demo_export: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["search", str(demo_export), "--query", str(tmp_path / "nope.jpg"), "--gallery", str(tmp_path)]
    )
    assert result.exit_code == 1 and "does not exist" in result.output and "Traceback" not in result.output


def test_backend_auto_prints_its_choice_per_branch_and_a_bad_backend_is_one_line(
    demo_export: Path, synthetic_sysu: Path, tmp_path: Path
) -> None:
    query = SYSUMM01(synthetic_sysu).query("all")[0].path
    gallery = _gallery_list(synthetic_sysu, tmp_path)
    base = ["search", str(demo_export), "--query", query, "--gallery", str(gallery), "--cache", str(tmp_path / "c")]
    result = CliRunner().invoke(app, [*base, "--backend", "auto"])
    assert result.exit_code == 0, result.output
    choices = [line for line in result.output.splitlines() if line.startswith("auto: ")]
    assert [c.split(" for the ")[1].split(" branch")[0] for c in choices] == ["infrared", "visible"], choices
    for backend, precision in (("tflite", "fp32"), ("ort-cpu", "bf16")):
        bad = CliRunner().invoke(app, [*base, "--backend", backend, "--precision", precision])
        assert bad.exit_code == 1 and "Traceback" not in bad.output, bad.output
        assert len(bad.output.strip().splitlines()) == 1, bad.output
