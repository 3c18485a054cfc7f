"""The runtime is its own distribution (`pip install ./runtime`): in a fresh venv with nothing but it (and the
Triton host's extra) it installs without torch and embeds an image. This is the slim deployment image's install,
proved on every CI run on the venv the Triton tests serve from (`tests/servers/triton.py`, `runtime_venv`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vireid.deploy.triton_process import clean_environment


@pytest.mark.slow
def test_the_runtime_alone_installs_without_torch_and_embeds_an_image(
    demo_export: Path, runtime_venv: Path, tmp_path: Path
) -> None:
    python = str(runtime_venv / "bin" / "python")
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
    run = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, timeout=300, env=clean_environment(), cwd=tmp_path
    )
    assert run.returncode == 0 and "embedded (1," in run.stdout, run.stderr[-3000:]
    assert str(runtime_venv) in run.stdout  # it ran in the fresh venv, not here
    assert (runtime_venv / "bin" / "vireid-triton-host").is_file()  # the extra's console script
