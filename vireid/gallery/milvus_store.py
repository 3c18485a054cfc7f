"""The gallery beyond one machine: a Milvus collection through pymilvus's `MilvusClient`.

`milvus://HOST:PORT[/collection]` reaches a Milvus server; a path ending in `.db` opens milvus-lite, a local
store with no server (what the tests and the demo use). One collection per gallery:
- modality is a partition (`visible`, `infrared`): a cross-modal query searches only the other one;
- camera, time, track and identity are scalar fields, so `CropFilter` becomes a Milvus boolean expression;
- the primary key is derived from the image's content hash, so the same image is the same entity;
- the fingerprint is the collection's description, written when its first vectors arrive.
Index: `flat` (FLAT, exact) unless `--index` asks for `ivf-flat` / `ivf-sq8` (IVF_FLAT / IVF_SQ8; Milvus does
its own re-ranking). pymilvus 3.0.2 with milvus-lite 3.2.2 drops flat index build parameters: they are sent
nested under "params", which both read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from vireid.data.sample import MODALITIES, Modality
from vireid.errors import VireidError
from vireid.gallery import ranking
from vireid.gallery.index_choice import IndexSpec, choose, parse
from vireid.gallery.records import Crop, CropFilter, Fingerprint, GalleryInfo, Match, PartitionInfo
from vireid.gallery.store import MILVUS_SCHEME

DEFAULT_COLLECTION = "vireid_gallery"
_FIELDS = ["content", "path", "camera", "time", "track", "identity"]
_MILVUS_INDEX = {"flat": "FLAT", "ivf-flat": "IVF_FLAT", "ivf-sq8": "IVF_SQ8"}


@contextmanager
def _one_line(location: str) -> Iterator[None]:
    """A Milvus refusal (a filter it cannot parse, a field too long, a limit too high) as one line."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as err:
        raise VireidError(f"Milvus at {location} refused: {str(err.message).splitlines()[0][:200]}") from None


def content_id(content: str) -> int:
    """A 60-bit primary key from the content hash: the same image is the same entity."""
    return int(content[:15], 16)


def expression(where: CropFilter) -> str:
    """`where` as a Milvus boolean expression ("" allows everything)."""
    clauses = []
    if where.cameras:
        clauses.append(f"camera in {json.dumps(list(where.cameras), ensure_ascii=False)}")
    if where.since is not None:
        clauses.append(f"time >= {int(where.since)}")
    if where.until is not None:
        clauses.append(f"time <= {int(where.until)}")
    if where.ids:
        clauses.append(f"id in {json.dumps([int(i) for i in where.ids])}")
    return " and ".join(clauses)


class MilvusStore:
    def __init__(self, client: Any, collection: str, location: str, index: IndexSpec) -> None:
        """`index`: the spec asked for (IndexSpec("flat") when none was); an existing collection keeps the
        index it was built with, and takes only a new nprobe."""
        self.client, self.collection, self.location, self.spec = client, collection, location, index
        self.meta = f"{collection}_meta"
        self.fingerprint: Fingerprint | None = None
        if client.has_collection(self.meta):
            client.load_collection(self.meta)
            found = client.get(self.meta, ids=[0], output_fields=["text"])
            try:
                meta = json.loads(found[0]["text"])
                self.fingerprint = Fingerprint(**meta["fingerprint"])
                stored = parse(meta["index"])
            except (IndexError, KeyError, ValueError, TypeError, VireidError):
                raise VireidError(f"Milvus collection {self.meta} at {location} is not a vireid gallery's") from None
            if index.kind != stored.kind or (index.nlist and index.nlist != stored.nlist):
                self.spec = stored  # the collection's index was built once; only nprobe is a search setting
            else:
                self.spec = replace(stored, nprobe=index.nprobe or stored.nprobe)
            client.load_collection(collection)

    @classmethod
    def open(cls, location: str, *, create: bool, index: str | None = None) -> MilvusStore:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        collection = DEFAULT_COLLECTION
        if location.startswith(MILVUS_SCHEME):
            address, _, name = location.removeprefix(MILVUS_SCHEME).partition("/")
            uri, collection = f"http://{address}", name or DEFAULT_COLLECTION
        else:
            uri = location
        spec = choose(0, parse(index)) if index else IndexSpec("flat", nprobe=0)
        if not create and not location.startswith(MILVUS_SCHEME) and not Path(location).exists():
            raise VireidError(f"{location} holds no vireid gallery; create one with `vireid gallery add`")
        if spec.kind not in _MILVUS_INDEX:
            raise VireidError(f"--index {spec.kind} is not offered on Milvus; use one of {', '.join(_MILVUS_INDEX)}")
        try:
            client = MilvusClient(uri)
        except Exception as err:  # pymilvus raises several unrelated types for a refused connection
            raise VireidError(f"cannot open Milvus at {location}: {str(err).splitlines()[0][:160]}") from None
        try:
            store = cls(client, collection, location, spec)
        except MilvusException as err:
            raise VireidError(f"Milvus at {location}: {err.message}") from None
        if not create and store.fingerprint is None:
            raise VireidError(
                f"{location} holds no vireid gallery ({collection}); create one with `vireid gallery add`"
            )
        return store

    def set_fingerprint(self, fingerprint: Fingerprint) -> None:
        if self.fingerprint is not None:
            self.fingerprint.require_same(fingerprint, f"gallery {self.location}")
            return
        from pymilvus import DataType, MilvusClient

        if self.client.has_collection(self.collection):  # a creation interrupted before its fingerprint
            if self.client.get_collection_stats(self.collection).get("row_count", 0):
                raise VireidError(
                    f"Milvus collection {self.collection} at {self.location} holds rows but no "
                    "fingerprint; it is not a vireid gallery"
                )
            self.client.drop_collection(self.collection)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=fingerprint.dim)
        schema.add_field("content", DataType.VARCHAR, max_length=64)
        schema.add_field("path", DataType.VARCHAR, max_length=2048)
        schema.add_field("camera", DataType.VARCHAR, max_length=64)
        for name in ("time", "track", "identity"):
            schema.add_field(name, DataType.INT64)
        params = self.client.prepare_index_params()
        settings = {"params": {"nlist": self.spec.nlist}} if self.spec.is_ivf else {}
        params.add_index(field_name="vec", index_type=_MILVUS_INDEX[self.spec.kind], metric_type="IP", params=settings)
        self.client.create_collection(self.collection, schema=schema, index_params=params)
        for modality in MODALITIES:
            self.client.create_partition(self.collection, modality)
        self._write_fingerprint(fingerprint)
        self.fingerprint = fingerprint

    def _write_fingerprint(self, fingerprint: Fingerprint) -> None:
        """A one-row side collection (a Milvus collection needs a vector field; milvus-lite keeps no
        collection description), written last: a gallery without it was never finished being created."""
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
        schema.add_field("text", DataType.VARCHAR, max_length=4096)
        params = self.client.prepare_index_params()
        params.add_index(field_name="vec", index_type="FLAT", metric_type="IP")
        self.client.create_collection(self.meta, schema=schema, index_params=params)
        text = json.dumps({"fingerprint": asdict(fingerprint), "index": self.spec.text()}, sort_keys=True)
        self.client.insert(self.meta, [{"id": 0, "vec": [0.0, 0.0], "text": text}])
        self.client.flush(self.meta)

    def known(self, contents: Sequence[str]) -> set[str]:
        if self.fingerprint is None or not contents:
            return set()
        found: set[str] = set()
        for start in range(0, len(contents), 1000):
            ids = [content_id(c) for c in contents[start : start + 1000]]
            found.update(row["content"] for row in self.client.get(self.collection, ids=ids, output_fields=["content"]))
        return found

    def add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        with _one_line(self.location):
            return self._add(crops, vectors)

    def _add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        ids: list[int] = []
        for modality in MODALITIES:
            rows = [
                {
                    "id": content_id(c.content),
                    "vec": vectors[i].astype(np.float32).tolist(),
                    **{f: getattr(c, f) for f in _FIELDS},
                }
                for i, c in enumerate(crops)
                if c.modality == modality
            ]
            if rows:
                self.client.insert(self.collection, rows, partition_name=modality)
                ids += [r["id"] for r in rows]
        return ids

    def finish(self, log: Callable[[str], None] | None = None) -> None:
        self.client.flush(self.collection)  # unflushed rows are brute-forced on every search

    def search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        with _one_line(self.location):
            return self._search(modality, queries, k, where)

    def _search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        params = {"metric_type": "IP", "params": {"nprobe": self.spec.nprobe} if self.spec.is_ivf else {}}
        hits = self.client.search(
            self.collection,
            data=[q.astype(np.float32).tolist() for q in queries],
            anns_field="vec",
            limit=k,
            filter=expression(where),
            output_fields=_FIELDS,
            partition_names=[modality],
            search_params=params,
        )
        return [
            [Match(int(h["id"]), float(h["distance"]), _crop(h["entity"], modality)) for h in query_hits]
            for query_hits in hits
        ]

    def exact_search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        with _one_line(self.location):
            return self._exact_search(modality, queries, k, where)

    def _exact_search(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> list[list[Match]]:
        rows = self.client.query(
            self.collection,
            filter=expression(where),
            output_fields=["id", "vec", *_FIELDS],
            partition_names=[modality],
        )
        if not rows:
            return [[] for _ in queries]
        matrix = np.asarray([r["vec"] for r in rows], dtype=np.float32)
        scores, found = ranking.exact_top_k(matrix, queries, k)
        return [
            [
                Match(int(rows[j]["id"]), float(s), _crop(rows[j], modality))
                for s, j in zip(srow, jrow, strict=True)
                if j >= 0
            ]
            for srow, jrow in zip(scores, found, strict=True)
        ]

    def remove(self, where: CropFilter) -> int:
        with _one_line(self.location):
            return self._remove(where)

    def _remove(self, where: CropFilter) -> int:
        if where.empty:
            raise VireidError(
                "remove needs --id, --camera, --since or --until (it never empties a gallery by accident)"
            )
        if self.fingerprint is None:
            return 0
        result = self.client.delete(self.collection, filter=expression(where))
        return len(result) if isinstance(result, list) else int(result.get("delete_count", 0))

    def info(self) -> GalleryInfo:
        parts = []
        if self.fingerprint is not None:
            for modality in MODALITIES:
                count = self.client.get_partition_stats(self.collection, modality)["row_count"]
                if count:
                    memory = count * self.fingerprint.dim * (1 if self.spec.kind == "ivf-sq8" else 4)
                    parts.append(PartitionInfo(modality, int(count), f"Milvus {self.spec.describe()}", 0, 0, memory))
        return GalleryInfo("milvus", self.location, self.fingerprint, tuple(parts))

    def cameras(self, modality: Modality) -> list[str]:
        rows = self.client.query(self.collection, filter="", output_fields=["camera"], partition_names=[modality])
        return sorted({str(r["camera"]) for r in rows})

    def describe(self, modality: Modality) -> str:
        return f"Milvus {self.spec.describe()}"

    def tune(self, modality: Modality, log: Callable[[str], None]) -> bool:
        """nprobe is a search parameter here: raised for this session only (pass it in `--index` to keep it)."""
        if not self.spec.is_ivf or self.spec.nprobe >= self.spec.nlist:
            return False
        self.spec = replace(self.spec, nprobe=min(self.spec.nlist, 2 * self.spec.nprobe))
        log(f"{modality}: nprobe -> {self.spec.nprobe} (give it in --index to keep it)")
        return True

    def close(self) -> None:
        self.client.close()


def _crop(entity: dict[str, Any], modality: Modality) -> Crop:
    return Crop(
        entity["content"],
        entity["path"],
        modality,
        entity["camera"],
        int(entity["time"]),
        int(entity["track"]),
        int(entity["identity"]),
    )
