"""The gallery beyond one machine: a Milvus collection through pymilvus's `MilvusClient`.

`milvus://HOST:PORT[/collection]` reaches a Milvus server (pymilvus is given `http://HOST:PORT`); a path ending in
`.db` opens milvus-lite, a local store with no server. Checked against both: a real Milvus 2.3.5 server
(`tests/servers/milvus.py`) and milvus-lite 3.2.2, with pymilvus 3.0.2. One collection per gallery:
- modality is a partition (`visible`, `infrared`): a cross-modal query searches only the other one;
- camera, time, track and identity are scalar fields, so `CropFilter` becomes a Milvus boolean expression;
- the primary key is derived from the image's content hash, and crops are written with `upsert`: Milvus does not
  deduplicate primary keys on `insert`, so a batch that landed but was never acknowledged (a server killed
  mid-ingest) and is then sent again would otherwise be stored twice;
- every read is Strong: a collection's default (Bounded) let a search right after an insert miss it;
- the fingerprint and the index spec are the one row of a side collection, `<collection>_meta` (a Milvus
  collection needs a vector field; milvus-lite keeps no collection description), written last at creation, so
  `tune`'s nprobe is kept like FAISS's.
Index (`index_choice.py`, as FAISS's, by the larger partition since a Milvus index covers the collection): FLAT
up to `FLAT_MAX`, then IVF, rebuilt in `finish` (release, drop, create, load; a rebuild cut short is finished on
the next open). IVF_SQ8 and IVF_PQ distances come from the codes, so their candidates (`rescore` x k) come back
with their raw vectors and are re-scored exactly, as FAISS's are; IVF_FLAT and FLAT distances are exact. Milvus
builds an index per sealed segment and searches the rows not yet sealed by brute force.
A Milvus server answers at most 16,384 rows per query (limit + offset) and refuses a query with an empty filter
and no limit, so whatever reads every crop (`exact_search`, `cameras`) pages through `query_iterator`, and counts
are `count(*)`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vireid.data.sample import MODALITIES, Modality
from vireid.errors import VireidError
from vireid.gallery import ranking
from vireid.gallery.index_choice import IndexSpec, parse, plan, require_buildable
from vireid.gallery.records import Crop, CropFilter, Fingerprint, PartitionInfo, StoredCrop
from vireid.gallery.store import MILVUS_SCHEME
from vireid.gallery.store_base import Log, Ranked, StoreBase

DEFAULT_COLLECTION = "vireid_gallery"
MAX_WINDOW = 16_384
"""The most rows a Milvus server returns for one query or search (limit + offset)."""
PAGE_BYTES = 16 * 2**20
"""About this much per page when every crop is read (`exact_search`: 5,461 768-d vectors a page)."""
STRONG = {"consistency_level": "Strong"}
ROOTS_CHUNK = 4000
"""Characters of the roots' JSON per side-collection row (its text field holds 4,096)."""
_FIELDS = ["content", "path", "camera", "time", "track", "identity"]
_MILVUS_INDEX = {"flat": "FLAT", "ivf-flat": "IVF_FLAT", "ivf-sq8": "IVF_SQ8", "ivf-pq": "IVF_PQ"}
_QUANTISED = ("ivf-sq8", "ivf-pq")


def content_id(content: str) -> int:
    """A 60-bit primary key from the content hash: the same image is the same entity."""
    return int(content[:15], 16)


EVERY_CROP = "id >= 0"
"""A filter every crop passes (ids are 60-bit): milvus-lite 3.2.2 ignores `partition_names` in a query with an
empty filter, so queries never send one."""


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
    if where.windows:
        ranges = " or ".join(f"(time >= {int(a)} and time < {int(b)})" for a, b in where.windows)
        clauses.append(f"({ranges})")
    return " and ".join(clauses)


class MilvusStore(StoreBase):
    store = "milvus"
    max_k = MAX_WINDOW

    def __init__(self, client: Any, collection: str, location: str, override: IndexSpec | None) -> None:
        """`override`: the spec `--index` asked for, applied by `finish`; the collection's own spec is read."""
        self.client, self.collection, self.location, self.override = client, collection, location, override
        self.meta = f"{collection}_meta"
        self.spec = IndexSpec("flat")
        self.spans: dict[str, tuple[int, int]] | None = {}
        if client.has_collection(self.meta):
            self.fingerprint, self.spec, self.spans = self._read_meta()
            if not client.list_indexes(collection):  # a rebuild was cut short after dropping the old index
                self._create_index(self.spec)
            client.load_collection(collection)

    @classmethod
    def open(cls, location: str, *, create: bool, index: str | None = None) -> MilvusStore:
        from pymilvus import MilvusClient

        _quiet_pymilvus()  # after the import: importing pymilvus configures its loggers

        collection = DEFAULT_COLLECTION
        if location.startswith(MILVUS_SCHEME):
            address, _, name = location.removeprefix(MILVUS_SCHEME).partition("/")
            uri, collection = f"http://{address}", name or DEFAULT_COLLECTION
        else:
            uri = location
            if not create and not Path(location).exists():
                raise VireidError(f"{location} holds no vireid gallery; create one with `vireid gallery add`")
        override = parse(index) if index else None
        try:
            store = cls(MilvusClient(uri), collection, location, override)
        except VireidError:
            raise
        except Exception as err:  # pymilvus raises several unrelated types for a refused connection
            line = _refusal(location, err) or f"cannot open Milvus at {location}: {_first_line(err)}"
            raise VireidError(line) from None
        if not create and store.fingerprint is None:
            store.close()
            raise VireidError(
                f"{location} holds no vireid gallery ({collection}); create one with `vireid gallery add`"
            )
        return store

    def _one_line(self, err: Exception) -> str | None:
        return _refusal(self.location, err)

    # -- writing ---------------------------------------------------------------------------------------------
    def _create(self, fingerprint: Fingerprint) -> None:
        from pymilvus import DataType, MilvusClient

        if self.client.has_collection(self.collection):  # a creation interrupted before its side collection
            self.client.load_collection(self.collection)
            if self._count(None, CropFilter()):
                raise VireidError(
                    f"Milvus collection {self.collection} at {self.location} holds rows but no fingerprint; "
                    "it is not a vireid gallery"
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
        self.client.create_collection(
            self.collection, schema=schema, index_params=self._index_params(self.spec, fingerprint.dim), **STRONG
        )
        for modality in MODALITIES:
            self.client.create_partition(self.collection, modality)
        self._create_meta(fingerprint)

    def _add(self, crops: Sequence[Crop], vectors: np.ndarray) -> list[int]:
        for modality in MODALITIES:
            rows = [
                {"id": content_id(c.content), "vec": vectors[i].tolist(), **{f: getattr(c, f) for f in _FIELDS}}
                for i, c in enumerate(crops)
                if c.modality == modality
            ]
            if rows:  # upsert: an image stored already (or a batch sent twice) stays one entity
                self.client.upsert(self.collection, rows, partition_name=modality)
        self._widen_spans(crops)
        return [content_id(c.content) for c in crops]

    def _widen_spans(self, crops: Sequence[Crop]) -> None:
        """Keep the side collection's capture-time span covering every crop (Milvus has no min / max query)."""
        spans = self._spans_now()
        for modality in MODALITIES:
            times = [c.time for c in crops if c.modality == modality and c.time > 0]
            if times:
                low, high = spans.get(modality, (min(times), max(times)))
                spans[modality] = (min(low, *times), max(high, *times))
        if spans != self.spans:
            self.spans = spans
            self._write_meta(self._filled())

    def _spans_now(self) -> dict[str, tuple[int, int]]:
        """The recorded spans; a gallery written before they were recorded is read through once to find them."""
        if self.spans is None:
            found: dict[str, tuple[int, int]] = {}
            for modality in MODALITIES:
                times = [int(r["time"]) for page in self._pages(modality, CropFilter(), ["time"]) for r in page]
                known = [t for t in times if t > 0]
                if known:
                    found[modality] = (min(known), max(known))
            self.spans = found
            self._write_meta(self._filled())
        return dict(self.spans)

    def _finish(self, log: Log) -> None:
        """Seal what was written (so it is indexed), then follow `index_choice.plan` at the larger partition's size."""
        fingerprint = self._filled()
        self.client.flush(self.collection)
        crops = max(self._count(m, CropFilter()) for m in MODALITIES)
        wanted, rebuild = plan(self.spec, crops, self.override)
        if rebuild:
            require_buildable(wanted, crops, fingerprint.dim, "crops in a partition")
            log(f"building {wanted.describe()} over {crops} crops per partition at most")
            self.client.release_collection(self.collection)
            self.client.drop_index(self.collection, "vec")
            self._create_index(wanted)
            self.client.load_collection(self.collection)
        if wanted != self.spec:
            self.spec = wanted
            self._write_meta(fingerprint)

    def _remove(self, where: CropFilter) -> int:
        result = self.client.delete(self.collection, filter=expression(where))
        return len(result) if isinstance(result, list) else int(result.get("delete_count", 0))  # lite: the ids

    def _save_spec(self, modality: Modality, spec: IndexSpec) -> None:
        """Every partition shares the collection's index, so its settings are the collection's."""
        self.spec = spec
        self._write_meta(self._filled())

    def _stored(self, ids: list[int]) -> list[StoredCrop]:
        found: dict[int, StoredCrop] = {}
        for modality in MODALITIES:  # the partition is the modality, and `get` does not say which
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                rows = self.client.query(
                    self.collection,
                    filter=f"id in {json.dumps(chunk)}",
                    output_fields=["id", "vec", *_FIELDS],
                    partition_names=[modality],
                    **STRONG,
                )
                for row in rows:
                    found[int(row["id"])] = StoredCrop(
                        int(row["id"]), _crop(row, modality), np.asarray(row["vec"], dtype=np.float32)
                    )
        return [found[i] for i in ids if i in found]

    def _span(self, modality: Modality) -> tuple[int, int] | None:
        return self._spans_now().get(modality)

    def _roots(self) -> list[str]:
        """The folders, as JSON cut into the side collection's rows 1.. (each text holds 4,096 characters)."""
        rows = self.client.query(self.meta, filter="id >= 1", output_fields=["id", "text"], **STRONG)
        text = "".join(str(r["text"]) for r in sorted(rows, key=lambda r: int(r["id"])))
        return [str(folder) for folder in json.loads(text)] if text else []

    def _save_roots(self, folders: list[str]) -> None:
        text = json.dumps(folders)
        parts = [text[i : i + ROOTS_CHUNK] for i in range(0, len(text), ROOTS_CHUNK)]
        rows = [{"id": 1 + i, "vec": [0.0, 0.0], "text": part} for i, part in enumerate(parts)]
        self.client.upsert(self.meta, rows)
        self.client.delete(self.meta, filter=f"id > {len(parts)}")

    def _close(self) -> None:
        self.client.close()

    # -- reading ---------------------------------------------------------------------------------------------
    def _known(self, contents: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(contents), 1000):
            ids = [content_id(c) for c in contents[start : start + 1000]]
            rows = self.client.get(self.collection, ids=ids, output_fields=["content"], **STRONG)
            found.update(row["content"] for row in rows)
        return found

    def _rank(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter, exact: bool) -> Ranked:
        if exact:
            return self._exact(modality, queries, k, where)
        rescore = self.spec.rescore if self.spec.kind in _QUANTISED else 1
        hits = self.client.search(
            self.collection,
            data=queries.tolist(),
            anns_field="vec",
            limit=min(MAX_WINDOW, k * rescore),
            filter=expression(where),
            output_fields=[*_FIELDS, "vec"] if rescore > 1 else _FIELDS,
            partition_names=[modality],
            search_params={"metric_type": "IP", "params": {"nprobe": self.spec.nprobe} if self.spec.is_ivf else {}},
            **STRONG,
        )
        width = max([len(h) for h in hits] + [1])
        scores = np.full((len(queries), width), -np.inf, dtype=np.float32)
        keys = np.full((len(queries), width), -1, dtype=np.int64)
        crops: dict[int, tuple[int, Crop]] = {}
        for q, query_hits in enumerate(hits):
            for j, hit in enumerate(query_hits):
                entity = hit["entity"]
                keys[q, j] = int(hit["id"])
                # the codes chose the candidate; its raw vector sets its score
                scores[q, j] = np.asarray(entity["vec"], np.float32) @ queries[q] if rescore > 1 else hit["distance"]
                crops[int(hit["id"])] = (int(hit["id"]), _crop(entity, modality))
        return Ranked(*ranking.top_k(scores, keys, k), crops)

    def _exact(self, modality: Modality, queries: np.ndarray, k: int, where: CropFilter) -> Ranked:
        """Brute force over every crop `where` allows, a page at a time: the best `k` so far and their crops."""
        best = (np.full((len(queries), 0), -np.inf, dtype=np.float32), np.full((len(queries), 0), -1, dtype=np.int64))
        crops: dict[int, tuple[int, Crop]] = {}
        for page in self._pages(modality, where, ["vec", *_FIELDS]):
            ids = np.array([row["id"] for row in page], dtype=np.int64)
            scores, local = ranking.exact_top_k(np.asarray([row["vec"] for row in page], np.float32), queries, k)
            best = ranking.merge(best, (scores, np.where(local >= 0, ids[local], -1)), k)
            kept = set(best[1].ravel().tolist())
            crops = {key: crop for key, crop in crops.items() if key in kept}
            crops.update({i: (i, _crop(row, modality)) for i, row in zip(ids.tolist(), page, strict=True) if i in kept})
        return Ranked(best[0], best[1], crops)

    def _partition_info(self, modality: Modality) -> PartitionInfo:
        count = self._count(modality, CropFilter())
        memory = count * self.spec.code_bytes(self._filled().dim)
        return PartitionInfo(modality, count, self.spec.describe(), 0, 0, memory)

    def _cameras(self, modality: Modality) -> list[str]:
        return sorted({str(row["camera"]) for page in self._pages(modality, CropFilter(), ["camera"]) for row in page})

    def _spec(self, modality: Modality) -> IndexSpec:
        return self.spec

    def _count(self, modality: Modality | None, where: CropFilter) -> int:
        partitions = [modality] if modality else None
        found = self.client.query(
            self.collection,
            filter=expression(where) or EVERY_CROP,
            output_fields=["count(*)"],
            partition_names=partitions,
            **STRONG,
        )
        return int(found[0]["count(*)"])

    def _pages(self, modality: Modality, where: CropFilter, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
        """Every crop of `modality` that `where` allows, with `fields` and its id, in pages of about `PAGE_BYTES`
        (the iterator pages on the primary key, so no query passes the server's 16,384-row window)."""
        per_row = 4 * self._filled().dim if "vec" in fields else 256
        iterator = self.client.query_iterator(
            self.collection,
            batch_size=max(1, min(MAX_WINDOW, PAGE_BYTES // per_row)),
            filter=expression(where) or EVERY_CROP,
            output_fields=["id", *fields],
            partition_names=[modality],
            **STRONG,
        )
        try:
            while page := iterator.next():
                yield page
        finally:
            iterator.close()

    # -- the collection's index and side collection ----------------------------------------------------------
    def _index_params(self, spec: IndexSpec, dim: int) -> Any:
        settings: dict[str, int] = {"nlist": spec.nlist} if spec.is_ivf else {}
        if spec.kind == "ivf-pq":
            settings |= {"m": spec.pq_bytes(dim), "nbits": 8}
        params = self.client.prepare_index_params()
        # nested under "params": pymilvus 3.0.2 drops a flat index's build settings, and both servers read these
        kind = _MILVUS_INDEX[spec.kind]
        params.add_index(field_name="vec", index_type=kind, metric_type="IP", params={"params": settings})
        return params

    def _create_index(self, spec: IndexSpec) -> None:
        self.client.create_index(self.collection, self._index_params(spec, self._filled().dim))

    def _create_meta(self, fingerprint: Fingerprint) -> None:
        """The side collection, created last: a gallery without it was never finished being created."""
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
        schema.add_field("text", DataType.VARCHAR, max_length=4096)
        params = self.client.prepare_index_params()
        params.add_index(field_name="vec", index_type="FLAT", metric_type="IP")
        self.client.create_collection(self.meta, schema=schema, index_params=params, **STRONG)
        self._write_meta(fingerprint)

    def _write_meta(self, fingerprint: Fingerprint) -> None:
        meta: dict[str, Any] = {"fingerprint": asdict(fingerprint), "index": self.spec.text()}
        if self.spans is not None:
            meta["spans"] = {m: list(span) for m, span in self.spans.items()}
        self.client.upsert(self.meta, [{"id": 0, "vec": [0.0, 0.0], "text": json.dumps(meta, sort_keys=True)}])

    def _read_meta(self) -> tuple[Fingerprint, IndexSpec, dict[str, tuple[int, int]] | None]:
        """The fingerprint, the index spec and the capture-time spans (None: written before spans were kept)."""
        self.client.load_collection(self.meta)
        found = self.client.get(self.meta, ids=[0], output_fields=["text"], **STRONG)
        try:
            meta = json.loads(found[0]["text"])
            spans = {m: (int(a), int(b)) for m, (a, b) in meta["spans"].items()} if "spans" in meta else None
            return Fingerprint(**meta["fingerprint"]), parse(meta["index"]), spans
        except (IndexError, KeyError, ValueError, TypeError, VireidError):
            raise VireidError(f"Milvus collection {self.meta} at {self.location} is not a vireid gallery's") from None


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


def _refusal(location: str, err: Exception) -> str | None:
    """A pymilvus error in one line: a server that cannot be reached, or what Milvus refused (a filter it cannot
    parse, a field too long, a limit too high); None for anything else."""
    import grpc  # type: ignore[import-untyped]
    from pymilvus.client.types import Status
    from pymilvus.exceptions import MilvusException

    code = getattr(err, "code", None)
    # a refused connection (CONNECT_FAILED), or a call the server never answered (retried, then grpc's status)
    if isinstance(err, grpc.RpcError) or code == Status.CONNECT_FAILED or isinstance(code, grpc.StatusCode):
        return (
            f"cannot reach Milvus at {location} ({_first_line(getattr(err, 'message', err))}); is the server running?"
        )
    if isinstance(err, MilvusException):
        return f"Milvus at {location} refused: {_first_line(err.message)}"
    return None


def _first_line(err: object) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:200] if lines else type(err).__name__


def _quiet_pymilvus() -> None:
    """pymilvus logs each failed call with its traceback on its own stderr handler; the store turns every one into
    one line (`_refusal`), so its log would only repeat it, at length."""
    for name in ("pymilvus", "pymilvus.milvus_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
