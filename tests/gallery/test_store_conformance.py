"""One conformance suite over every gallery store: FAISS (flat, and IVF at nprobe = nlist), milvus-lite, and a real
Milvus server (`tests/servers/milvus.py`; its IVF indexes are `test_milvus_server.py`'s).

Each store must answer exactly what brute force over the same vectors answers (numpy, written here), with and
without filters, keep the same image once, remove what it is asked to, read back the same after reopening,
and refuse vectors of another export in one line."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vireid.errors import VireidError
from vireid.gallery.records import Crop, CropFilter, Fingerprint
from vireid.gallery.store import GalleryStore, open_store

DIM = 16
SERVER = ""
"""A store on the test run's Milvus server (`tests/servers/milvus.py`), in a collection of its own."""
STORES = {
    "faiss-flat": ("gallery", None),
    "faiss-ivf-exact": ("gallery", "ivf-flat:nlist=8,nprobe=8"),
    "milvus-lite": ("gallery.db", None),
    "milvus-server": (SERVER, None),
}
"""IVF on the server is `test_milvus_server.py`'s: an index a server really builds needs sealed segments of 1,024
rows and more, and at 400 crops a second server gallery per module and worker cost the suite about a minute."""


def _data(n: int = 400) -> tuple[list[Crop], np.ndarray]:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    crops = [
        Crop(
            hashlib.sha256(f"{i}".encode()).hexdigest(),
            f"/crops/{i}.jpg",
            "visible" if i % 2 else "infrared",
            f"cam{i % 5}",
            1000 + i,
            i // 7,
            i % 20,
        )
        for i in range(n)
    ]
    return crops, vectors


FINGERPRINT = Fingerprint("a" * 64, "b" * 64, DIM)


Gallery = tuple[str, str | None, list[Crop], np.ndarray]
"""A filled gallery: its location, the `--index` it was made with, its crops and their vectors."""


@pytest.fixture(scope="module", params=list(STORES))
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gallery]:
    """Each store filled once per module (and worker), for the tests that only read or add what is stored."""
    with _location(request, tmp_path_factory.mktemp("shared")) as location:
        yield _fill(location, STORES[request.param][1])


@pytest.fixture(params=list(STORES))
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Gallery]:
    """A store filled for one test, which may change it."""
    with _location(request, tmp_path) as location:
        yield _fill(location, STORES[request.param][1])


@contextlib.contextmanager
def _location(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    name = STORES[request.param][0]
    if name != SERVER:
        yield str(folder / name)
        return
    with request.getfixturevalue("milvus_server").collection() as location:
        yield location


def _fill(location: str, index: str | None) -> Gallery:
    crops, vectors = _data()
    store = open_store(location, create=True, index=index)
    store.set_fingerprint(FINGERPRINT)
    store.add(crops[:300], vectors[:300])
    store.add(crops[300:], vectors[300:])
    store.finish()
    store.close()
    return location, index, crops, vectors


def _brute(crops: list[Crop], vectors: np.ndarray, query: np.ndarray, k: int, where: CropFilter) -> list[str]:
    rows = [i for i, c in enumerate(crops) if c.modality == "visible" and _allows(where, c)]
    scores = vectors[rows] @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [crops[rows[i]].content for i in order]


def _allows(where: CropFilter, crop: Crop) -> bool:
    """The filter's meaning, stated here in Python; the stores' SQL and Milvus expressions must agree."""
    return (
        (not where.cameras or crop.camera in where.cameras)
        and (where.since is None or crop.time >= where.since)
        and (where.until is None or crop.time <= where.until)
        and (not where.windows or any(a <= crop.time < b for a, b in where.windows))
    )


def _open(location: str) -> GalleryStore:
    return open_store(location, writable=True)


def test_search_equals_exact_search(filled: Gallery) -> None:
    location, _, crops, vectors = filled
    store = _open(location)
    queries = vectors[:6:2]  # infrared crops, searched in the visible partition
    for query, found, exact in zip(
        queries,
        store.search("visible", queries, 10, CropFilter()),
        store.exact_search("visible", queries, 10, CropFilter()),
        strict=True,
    ):
        assert [m.crop.content for m in found] == _brute(crops, vectors, query, 10, CropFilter())
        assert [m.id for m in found] == [m.id for m in exact]
        expected = np.sort(vectors[[int(m.crop.path.split("/")[-1][:-4]) for m in found]] @ query)[::-1]
        np.testing.assert_allclose([m.score for m in found], expected, atol=1e-5)
        assert all(m.crop.modality == "visible" for m in found)
    store.close()


def test_a_filtered_search_returns_only_allowed_crops_and_equals_exact_search_over_them(
    filled: Gallery,
) -> None:
    location, _, crops, vectors = filled
    store = _open(location)
    where = CropFilter(cameras=("cam1", "cam3"), since=1050, until=1300)
    found = store.search("visible", vectors[:1], 8, where)[0]
    assert found and all(m.crop.camera in ("cam1", "cam3") and 1050 <= m.crop.time <= 1300 for m in found)
    assert [m.crop.content for m in found] == _brute(crops, vectors, vectors[0], 8, where)
    assert store.search("visible", vectors[:1], 8, CropFilter(cameras=("nowhere",)))[0] == []
    store.close()


def test_an_image_is_stored_once_however_often_it_is_added(
    filled: Gallery,
) -> None:
    location, _, crops, vectors = filled
    store = _open(location)
    assert store.known([c.content for c in crops[:5]] + ["f" * 64]) == {c.content for c in crops[:5]}
    ids = store.add(crops[:10], vectors[:10])  # as a batch sent again after a lost acknowledgement
    assert store.add(crops[:10], vectors[:10]) == ids and len(set(ids)) == 10
    store.finish()
    assert {p.modality: p.crops for p in store.info().partitions} == {"visible": 200, "infrared": 200}
    assert store.exact_search("visible", vectors[1:2], 1, CropFilter())[0][0].id == ids[1]
    assert store.cameras("visible") == sorted({c.camera for c in crops if c.modality == "visible"})
    store.close()


def test_remove_takes_crops_out(fresh: Gallery) -> None:
    location, _, crops, vectors = fresh
    store = _open(location)
    before = store.info().crops
    assert store.remove(CropFilter(cameras=("cam1",))) == sum(c.camera == "cam1" for c in crops)
    found = store.search("visible", vectors[:4], 20, CropFilter())
    assert all(m.crop.camera != "cam1" for row in found for m in row)
    gid = found[0][0].id
    assert store.remove(CropFilter(ids=(gid,))) == 1
    assert gid not in {m.id for m in store.search("visible", vectors[:1], 20, CropFilter())[0]}
    assert store.info().crops == before - sum(c.camera == "cam1" for c in crops) - 1
    assert "cam1" not in store.cameras("visible")
    with pytest.raises(VireidError, match="never empties"):
        store.remove(CropFilter())
    store.close()


def test_bad_input_is_refused_in_one_line(filled: Gallery) -> None:
    location, _, crops, vectors = filled
    store = _open(location)
    refusals = [
        (lambda: store.search("visible", np.zeros((1, DIM + 1)), 5, CropFilter()), "queries must be N x 16"),
        (lambda: store.exact_search("visible", vectors[:1], 0, CropFilter()), "1 to .* answers per query"),
        (lambda: store.search("visible", vectors[:1], store.max_k + 1, CropFilter()), "1 to .* answers per query"),
        (lambda: store.add(crops[:2], vectors[:1]), "2 crops and 1 vectors"),
    ]
    for call, message in refusals:
        with pytest.raises(VireidError, match=message) as refused:
            call()
        assert "\n" not in str(refused.value)
    store.close()


def test_a_gallery_reads_back_the_same_after_reopening(filled: Gallery) -> None:
    location, _, _, vectors = filled
    store = _open(location)
    first = [[(m.id, m.score) for m in row] for row in store.search("visible", vectors[:3], 5, CropFilter())]
    info = store.info()
    store.close()
    again = open_store(location)  # read-only: FAISS maps its indexes
    assert [[(m.id, m.score) for m in row] for row in again.search("visible", vectors[:3], 5, CropFilter())] == first
    assert again.info().partitions == info.partitions and again.fingerprint == FINGERPRINT
    again.close()


def test_vectors_of_another_export_are_refused_in_one_line(
    filled: Gallery,
) -> None:
    location, _, _, _ = filled
    store = _open(location)
    with pytest.raises(VireidError, match="belongs to another export") as refused:
        store.set_fingerprint(Fingerprint("c" * 64, "b" * 64, DIM))
    assert (
        "\n" not in str(refused.value) and "aaaaaaaaaaaa" in str(refused.value) and "cccccccccccc" in str(refused.value)
    )
    store.close()


@pytest.mark.parametrize("name", ["faiss", "milvus-lite", "milvus-server"])
def test_tune_doubles_nprobe_and_the_gallery_keeps_it(
    request: pytest.FixtureRequest, tmp_path: Path, name: str
) -> None:
    location = {"faiss": str(tmp_path / "g"), "milvus-lite": str(tmp_path / "g.db")}.get(name, "")
    location = location or request.getfixturevalue("milvus_location")
    crops, vectors = _data()
    store = open_store(location, create=True, index="ivf-flat:nlist=8,nprobe=2")
    store.set_fingerprint(FINGERPRINT)
    store.add(crops, vectors)
    store.finish()
    steps: list[str] = []
    assert store.tune("visible", steps.append) and store.tune("visible", steps.append)
    assert steps == ["visible: nprobe 2 -> 4", "visible: nprobe 4 -> 8"] and not store.tune("visible", steps.append)
    store.close()
    again = open_store(location)
    assert "nprobe=8" in again.describe("visible")
    again.close()


def test_time_windows_filter_and_count_as_brute_force_says(filled: Gallery) -> None:
    """Capture-time windows (an hour window's nights) are part of the store's own filter: searches and counts
    agree with the filter's meaning, over windows that split the crops' times."""
    location, _, crops, vectors = filled
    store = _open(location)
    where = CropFilter(cameras=("cam1", "cam2", "cam3"), windows=((1010, 1050), (1101, 1102), (1300, 1390), (9, 9)))
    allowed = [c for c in crops if c.modality == "visible" and _allows(where, c)]
    assert 0 < len(allowed) < sum(c.modality == "visible" for c in crops)
    assert store.count("visible", where) == len(allowed)
    assert store.count("visible", CropFilter()) == sum(c.modality == "visible" for c in crops)
    assert store.count("visible", CropFilter(windows=((5, 5),))) == 0
    found = store.search("visible", vectors[:1], len(allowed) + 5, where)[0]
    assert [m.crop.content for m in found] == _brute(crops, vectors, vectors[0], len(allowed) + 5, where)
    store.close()


def test_stored_crops_come_back_by_id_with_their_vectors(filled: Gallery) -> None:
    location, _, crops, vectors = filled
    store = _open(location)
    ids = [m.id for m in store.search("visible", vectors[:1], 3, CropFilter())[0]]
    ids += [m.id for m in store.search("infrared", vectors[:1], 2, CropFilter())[0]]
    found = store.stored([ids[3], 2**62, *ids])
    assert [f.id for f in found] == [ids[3], *[i for i in ids if i != ids[3]]]
    for item in found:
        index = int(item.crop.path.split("/")[-1][:-4])
        assert item.crop == crops[index]
        np.testing.assert_allclose(item.vector, vectors[index], atol=1e-6)
    store.close()


def test_span_and_roots_cover_what_was_added_and_are_kept(filled: Gallery) -> None:
    location, _, crops, _ = filled  # roots are what this test adds to the shared gallery, and no other test reads
    store = _open(location)
    for modality in ("visible", "infrared"):
        times = [c.time for c in crops if c.modality == modality]
        low, high = store.span(modality) or (0, 0)
        assert low <= min(times) and high >= max(times)
    store.add_roots(["/data/cams/a", "/data/cams", "/data/cams/b/c", "/elsewhere/x"])
    store.add_roots(["/elsewhere/x/y"])
    store.close()
    again = open_store(location)
    assert again.roots() == ("/data/cams", "/elsewhere/x")
    again.close()
