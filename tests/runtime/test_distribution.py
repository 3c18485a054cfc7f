"""The runtime is its own distribution (`pip install ./runtime`): alone in a fresh venv it installs without
torch and embeds an image. This is the slim deployment image's install, proved on every CI run."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_runtime_alone_installs_without_torch_and_embeds_an_image(demo_export: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", str(ROOT / "runtime")],
        capture_output=True,
        text=True,
        timeout=900,
        env=clean,
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    image = tmp_path / "person.png"
    from PIL import Image

    Image.new("RGB", (64, 128), (120, 80, 40)).save(image)
    code = f"""
import importlib.util, sys
from PIL import Image
from vireid_runtime import load_embedder
embedder = load_embedder({str(demo_export)!r}, 'visible', 'ort-cpu')
features = embedder.embed(embedder.preprocess([Image.open({str(image)!r})]))
assert features.shape == (1, embedder.output_spec.dim), features.shape
for name in ('torch', 'torchvision', 'vireid', 'vireid_export'):
    assert importlib.util.find_spec(name) is None, name + ' is installed'
print('embedded', features.shape, sys.prefix)
"""
    run = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, env=clean, cwd=tmp_path)
    assert run.returncode == 0 and "embedded (1," in run.stdout, run.stderr[-3000:]
    assert str(env_dir) in run.stdout  # it ran in the fresh venv, not here
