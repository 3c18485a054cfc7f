"""The FAISS gallery's files: an interrupted ingest is answered exactly and completed; damaged files give one
line and are never rebuilt over; IVF at nprobe = nlist is exact (see also the conformance suite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gallery.test_store_conformance import FINGERPRINT, _data
from vireid.errors import VireidError
from vireid.gallery.faiss_store import CATALOG
from vireid.gallery.records import CropFilter
from vireid.gallery.store import open_store


def _ivf_gallery(root: Path) -> None:
    crops, vectors = _data()
    store = open_store(root, create=True, index="ivf-sq8:nlist=8,nprobe=8")
    store.set_fingerprint(FINGERPRINT)
    store.add(crops[:300], vectors[:300])
    store.finish()
    store.add(crops[300:], vectors[300:])  # committed, not folded in: as if the ingest was killed here
    store.close()


def test_rows_an_interrupted_ingest_committed_are_searched_exactly_then_folded_in(tmp_path: Path) -> None:
    root = tmp_path / "g"
    _ivf_gallery(root)
    crops, vectors = _data()
    store = open_store(root)
    assert {p.modality: p.pending for p in store.info().partitions} == {"visible": 50, "infrared": 50}
    exact = store.exact_search("visible", vectors[:4], 10, CropFilter())
    assert [[m.id for m in row] for row in store.search("visible", vectors[:4], 10, CropFilter())] == [
        [m.id for m in row] for row in exact
    ]
    store.close()
    store = open_store(root, create=True)
    store.finish()  # what the re-run of `gallery add` does at its end
    assert all(p.pending == 0 for p in store.info().partitions)
    assert store.info().crops == len(crops)
    store.close()


def test_an_uncommitted_tail_of_vectors_is_cut_off(tmp_path: Path) -> None:
    root = tmp_path / "g"
    _ivf_gallery(root)
    vectors_file = root / "visible" / "vectors.f32"
    size = vectors_file.stat().st_size
    with open(vectors_file, "ab") as handle:  # a batch appended, then SIGKILL before the catalogue commit
        handle.write(np.ones(16 * 3, dtype=np.float32).tobytes())
    open_store(root, writable=True).close()
    assert vectors_file.stat().st_size == size


@pytest.mark.parametrize("damage", ["truncate-vectors", "corrupt-index", "missing-index", "corrupt-catalog"])
def test_damaged_files_give_one_line_and_nothing_is_rebuilt(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "g"
    _ivf_gallery(root)
    index = next((root / "visible").glob("index-*.faiss"))
    if damage == "truncate-vectors":
        with open(root / "visible" / "vectors.f32", "r+b") as handle:
            handle.truncate(100)
    elif damage == "corrupt-index":
        index.write_bytes(b"garbage" * 10)
    elif damage == "missing-index":
        index.unlink()
    else:
        (root / CATALOG).write_bytes(b"not a database" * 100)
        for sidecar in root.glob(CATALOG + "-*"):
            sidecar.unlink()
    before = _files(root)
    with pytest.raises(VireidError) as refused:
        store = open_store(root)
        store.search("visible", _data()[1][:1], 5, CropFilter())
    assert "\n" not in str(refused.value) and "backup" in str(refused.value)
    assert _files(root) == before


def test_an_index_too_large_for_its_crops_is_refused_in_one_line_and_the_crops_stay(tmp_path: Path) -> None:
    crops, vectors = _data(200)
    store = open_store(tmp_path / "g", create=True, index="ivf-pq")
    store.set_fingerprint(FINGERPRINT)
    store.add(crops, vectors)
    with pytest.raises(VireidError, match=r"needs at least 256 .* crops to train .* use --index flat"):
        store.finish()
    store.close()
    again = open_store(tmp_path / "g")
    assert again.info().crops == 200 and len(again.search("visible", vectors[:1], 5, CropFilter())[0]) == 5
    again.close()


def _files(root: Path) -> dict[Path, int]:
    """Every gallery file and its size (SQLite's own -wal / -shm companions come and go with a connection)."""
    return {p: p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


def test_a_folder_that_is_no_gallery_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VireidError, match="is not a gallery"):
        open_store(tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_second_writer_is_refused_in_one_line_and_readers_are_not(tmp_path: Path) -> None:
    crops, vectors = _data()
    writer = open_store(tmp_path / "g", create=True)
    writer.set_fingerprint(FINGERPRINT)
    writer.add(crops[:100], vectors[:100])
    with pytest.raises(VireidError, match="being written by another process") as refused:
        open_store(tmp_path / "g", writable=True)
    assert "\n" not in str(refused.value)
    reader = open_store(tmp_path / "g")
    assert reader.info().crops == 100
    reader.close()
    writer.close()
    open_store(tmp_path / "g", writable=True).close()  # the lock went with the writer


@pytest.mark.parametrize("index", [None, "ivf-flat:nlist=8,nprobe=8"])
def test_a_reader_opened_before_a_writer_commits_answers_from_the_new_state(tmp_path: Path, index: str | None) -> None:
    crops, vectors = _data()
    writer = open_store(tmp_path / "g", create=True, index=index)
    writer.set_fingerprint(FINGERPRINT)
    writer.add(crops[:200], vectors[:200])
    writer.finish()
    reader = open_store(tmp_path / "g")
    before = reader.search("visible", vectors[:2], 10, CropFilter())
    writer.add(crops[200:], vectors[200:])
    writer.finish()
    writer.remove(CropFilter(ids=(before[0][0].id,)))
    writer.close()
    after = reader.search("visible", vectors[:2], 10, CropFilter())
    exact = reader.exact_search("visible", vectors[:2], 10, CropFilter())
    assert [[m.id for m in row] for row in after] == [[m.id for m in row] for row in exact]
    assert before[0][0].id not in {m.id for m in after[0]}
    reader.close()
