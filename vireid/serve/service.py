"""The search service's library: what a search, an image view, an upload and a removal mean.

`GalleryService` holds what the service loads once (the store, both branches, the tokens, the audit log) and
answers the routes. Every store call runs on one thread of its own (`on_store`): the FAISS catalogue is an SQLite
connection, which belongs to the thread that opened it, and one store thread also serialises the service's own
writes. Writes open the gallery for writing per request, so they take the gallery's single-writer lock like
`vireid gallery add` does, and are refused with 503 while another process writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import numpy as np
from PIL import Image

from vireid.data.sample import MODALITIES, Modality
from vireid.gallery.fingerprint import artifact_fingerprint
from vireid.gallery.query import other
from vireid.gallery.records import Crop, CropFilter, Fingerprint, Match
from vireid.gallery.store import GalleryBusy, GalleryStore, open_store
from vireid.io.atomic import atomic_write_bytes
from vireid.serve import schemas
from vireid.serve.audit import AuditLog
from vireid.serve.auth import Principal, Tokens
from vireid.serve.engines import close_branches, load_branches
from vireid.serve.errors import ServiceError
from vireid.serve.filters import Conditions, conditions, crop_filter
from vireid.serve.images import decode_upload, media_type, resolve_under
from vireid.serve.metrics import ServiceMetrics
from vireid.serve.paging import Cursor, Page, search_digest, walk
from vireid.serve.settings import ServeSettings, zone

T = TypeVar("T")
QUERY_CACHE = 256
"""Query vectors kept by image hash, so that the next page of an uploaded query does not embed it again."""


@dataclass(frozen=True)
class Query:
    vector: np.ndarray
    modality: Modality
    crop_id: int | None = None
    sha256: str | None = None

    @property
    def reference(self) -> str:
        return f"crop:{self.crop_id}" if self.crop_id is not None else f"image:{self.sha256}"


class GalleryService:
    def __init__(self, settings: ServeSettings, log: Callable[[str], None] = lambda _line: None) -> None:
        self.settings, self.zone = settings, zone(settings.timezone)
        self.metrics = ServiceMetrics()
        self.tokens = Tokens(settings.read_token, settings.write_token)
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vireid-store")
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self.export = artifact_fingerprint(settings.art_dir)
        self.store: GalleryStore = self._on_store_thread(lambda: open_store(settings.gallery))
        try:
            if self.store.fingerprint is not None:
                self.store.fingerprint.require_same(self.export, f"gallery {settings.gallery}")
            self.roots = self._on_store_thread(self._roots)
            self.branches = load_branches(
                settings.art_dir,
                settings.backend,
                settings.precision,
                settings.threads,
                settings.batching,
                self.metrics.observe_batch,
                log,
            )
            self.audit = AuditLog(settings.audit_log)
        except BaseException:
            self.close()
            raise

    # -- life ---------------------------------------------------------------------------------------------------
    def _on_store_thread(self, call: Callable[[], T]) -> T:
        return self._store_thread.submit(call).result()

    async def on_store(self, call: Callable[[], T]) -> T:
        """Await `call()` on the store's own thread (every store call goes there: the module docstring says why)."""
        return await asyncio.wrap_future(self._store_thread.submit(call))

    def close(self) -> None:
        if getattr(self, "branches", None):
            close_branches(self.branches)
            self.branches = {}
        if getattr(self, "store", None) is not None:
            self._on_store_thread(self.store.close)
            self.store = None  # type: ignore[assignment]
        if getattr(self, "audit", None) is not None:
            self.audit.close()
        self._store_thread.shutdown(wait=True)

    def _roots(self) -> tuple[Path, ...]:
        recorded = self.store.roots() if self.store.fingerprint is not None else ()
        self.roots_recorded = bool(recorded)
        folders = {Path(p).resolve() for p in recorded} | {self.settings.upload_dir.resolve()}
        return tuple(sorted(folders))

    # -- reading ------------------------------------------------------------------------------------------------
    def _require_gallery(self) -> Fingerprint:
        if self.store.fingerprint is None:
            raise ServiceError(404, "the gallery is empty; add crops (POST /api/v1/crops or `vireid gallery add`)")
        return self.store.fingerprint

    def fingerprint_out(self) -> schemas.FingerprintOut:
        fp = self.export
        return schemas.FingerprintOut(visible=fp.visible, infrared=fp.infrared, dim=fp.dim)

    async def cameras(self) -> schemas.CamerasOut:
        def listed() -> dict[str, list[str]]:
            if self.store.fingerprint is None:
                return {m: [] for m in MODALITIES}
            return {m: self.store.cameras(m) for m in MODALITIES}

        found = await self.on_store(listed)
        return schemas.CamerasOut(visible=found["visible"], infrared=found["infrared"])

    async def info(self) -> schemas.InfoOut:
        info = await self.on_store(self.store.info)
        limits = self.settings.limits
        return schemas.InfoOut(
            store=info.store,
            crops=info.crops,
            partitions=[
                schemas.PartitionOut(modality=p.modality, crops=p.crops, index=p.index) for p in info.partitions
            ],
            fingerprint=self.fingerprint_out() if info.fingerprint else None,
            backend={m: branch.description for m, branch in self.branches.items()},
            timezone=self.settings.timezone,
            reads_need_token=not self.tokens.reads_open,
            writes_enabled=self.tokens.writes_enabled,
            limits={"upload_bytes": limits.upload_bytes, "pixels": limits.pixels, "crops": limits.crops_per_upload},
        )

    async def image(self, crop_id: int) -> tuple[Path, str]:
        stored = await self.on_store(lambda: self.store.stored([crop_id]) if self.store.fingerprint else [])
        if not stored:
            raise ServiceError(404, f"no crop {crop_id} in this gallery")
        try:
            path = resolve_under(stored[0].crop.path, self.roots)
        except ServiceError as err:
            if err.status == 403 and not self.roots_recorded:
                raise ServiceError(
                    403,
                    "this gallery records no source folders (it was made before vireid recorded them); run "
                    "`vireid gallery add` on its source again, which records them and adds nothing twice",
                ) from None
            raise
        return path, media_type(path)

    # -- searching ----------------------------------------------------------------------------------------------
    async def search(self, who: Principal, form: schemas.SearchForm, image: bytes | None) -> schemas.SearchOut:
        began = time.perf_counter()
        fingerprint = self._require_gallery()
        query = await self._query(form, image)
        searched = query.modality if form.same_modality else other(query.modality)
        given = conditions(form.cameras, form.since, form.until, form.hours, self.zone)
        digest = search_digest(query.reference, searched, given.describe(), form.group_by, form.min_score)
        after = Cursor.decode(form.cursor, digest) if form.cursor else None
        page, allowed, index = await self.on_store(lambda: self._page(searched, query, given, form, after, digest))
        matches = [self._match_out(m, searched) for m in page.matches]
        self.audit.record(
            who,
            "search",
            query=query.reference,
            modality=query.modality,
            searched=searched,
            filters=given.describe(),
            k=form.k,
            min_score=form.min_score,
            group_by=form.group_by,
            page=after.shown if after else 0,
            results=[m.id for m in page.matches],
        )
        return schemas.SearchOut(
            matches=matches,
            allowed=allowed,
            next_cursor=page.next.encode() if page.next else None,
            took_ms=round(1000 * (time.perf_counter() - began), 3),
            index=schemas.IndexOut(modality=searched, description=index, exact=not index.startswith("ivf")),
            fingerprint=schemas.FingerprintOut(
                visible=fingerprint.visible, infrared=fingerprint.infrared, dim=fingerprint.dim
            ),
            query=schemas.QueryOut(
                modality=query.modality,
                searched=searched,
                crop_id=None if query.crop_id is None else str(query.crop_id),
                image_sha256=query.sha256,
            ),
            hours=given.hours.text() if given.hours else None,
            timezone=self.settings.timezone,
        )

    def _page(
        self,
        searched: Modality,
        query: Query,
        given: Conditions,
        form: schemas.SearchForm,
        after: Cursor | None,
        digest: str,
    ) -> tuple[Page, int, str]:
        """On the store thread: the filter, how many crops it allows, the page, and the index that answered."""
        where = crop_filter(given, self.zone, lambda: self.store.span(searched))
        allowed = self.store.count(searched, where)
        vector = query.vector[None]
        page = walk(
            lambda k: self.store.search(searched, vector, k, where)[0],
            size=form.k,
            allowed=allowed,
            search=digest,
            after=after,
            one_per_track=form.group_by == "track",
            min_score=form.min_score,
            max_k=self.store.max_k,
        )
        return page, allowed, self.store.describe(searched)

    async def _query(self, form: schemas.SearchForm, image: bytes | None) -> Query:
        if (image is None) == (form.crop_id is None):
            raise ServiceError(400, "give the query as an image file or a crop_id (exactly one)")
        if form.crop_id is not None:
            crop_id = form.crop_id
            stored = await self.on_store(lambda: self.store.stored([crop_id]))
            if not stored:
                raise ServiceError(404, f"no crop {crop_id} in this gallery; re-query with a crop_id a search returned")
            crop = stored[0]
            if form.modality is not None and form.modality != crop.crop.modality:
                raise ServiceError(
                    400, f"crop {crop_id} is {crop.crop.modality}, not {form.modality}; leave modality out"
                )
            return Query(np.asarray(crop.vector, dtype=np.float32), crop.crop.modality, crop_id=crop_id)
        assert image is not None
        if form.modality is None:
            raise ServiceError(400, "say the query image's modality (visible or infrared)")
        digest = hashlib.sha256(image).hexdigest()
        key = f"{form.modality}:{digest}"
        vector = self._queries.get(key)
        if vector is None:
            vector = (await self.embed(form.modality, [image]))[0]
            self._queries[key] = vector
            if len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(key)
        return Query(vector, form.modality, sha256=digest)

    async def embed(self, modality: Modality, images: list[bytes]) -> np.ndarray:
        """Decode uploads (a worker thread), then one batched engine call shared with other requests."""
        limit = self.settings.limits.pixels
        return await self.embed_pictures(
            modality, lambda: [decode_upload(data, limit, f"image {i + 1}")[0] for i, data in enumerate(images)]
        )

    async def embed_pictures(self, modality: Modality, pictures: Callable[[], list[Image.Image]]) -> np.ndarray:
        """`pictures()` (decoding, if any) and preprocessing on a worker thread, then the batched engine call."""
        branch = self.branches[modality]
        with branch.batcher.coming():
            batch = await asyncio.to_thread(lambda: branch.preprocess(pictures()))
            future = branch.batcher.submit(batch)
        return await asyncio.wrap_future(future)

    def _match_out(self, match: Match, searched: Modality) -> schemas.MatchOut:
        crop = match.crop
        known_time = crop.time > 0
        return schemas.MatchOut(
            crop_id=str(match.id),
            score=round(match.score, 6),
            camera=crop.camera,
            time=_local(crop.time, self.zone) if known_time else None,
            timestamp=crop.time if known_time else None,
            track=crop.track if crop.track >= 0 else None,
            modality=searched,
            image_url=f"/api/v1/crops/{match.id}/image",
        )

    # -- writing ------------------------------------------------------------------------------------------------
    @contextmanager
    def _writer(self) -> Iterator[GalleryStore]:
        """The gallery opened for writing for one request (its single-writer lock held until it closes)."""
        try:
            store = open_store(self.settings.gallery, writable=True)
        except GalleryBusy as err:
            raise ServiceError(503, f"{err}") from None
        try:
            yield store
        finally:
            store.close()

    async def add(self, who: Principal, form: schemas.CropsForm, files: list[bytes]) -> schemas.CropsOut:
        from vireid.serve.uploads import add_uploads

        return await add_uploads(self, who, form, files)

    def commit(self, crops: list[Crop], vectors: np.ndarray, files: dict[Path, bytes]) -> dict[str, int]:
        """On the store thread, under the writer lock: write the uploads' `files` (each atomically, where not there
        yet), add `crops`, fold them into the index, record the upload folder as a root; their ids by content
        hash. A write refused for the lock (503) leaves no file behind."""
        with self._writer() as writer:
            for path, data in files.items():
                if not path.is_file():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write_bytes(path, data)
            writer.set_fingerprint(self.export)
            ids = writer.add(crops, vectors)
            writer.add_roots([str(self.settings.upload_dir.resolve())])
            writer.finish()
        if self.store.fingerprint is None:  # the first crops of an empty gallery: read it afresh
            self.store.close()
            self.store = open_store(self.settings.gallery)
        self.roots = self._roots()
        return {crop.content: crop_id for crop, crop_id in zip(crops, ids, strict=True)}

    async def remove(self, who: Principal, body: schemas.RemoveIn) -> schemas.RemoveOut:
        given = conditions(body.cameras, body.since, body.until, None, self.zone, ids=body.ids)
        if not (given.cameras or given.since is not None or given.until is not None or given.ids):
            raise ServiceError(400, "remove needs ids, cameras, since or until (it never empties a gallery)")
        where = CropFilter(cameras=given.cameras, since=given.since, until=given.until, ids=given.ids)

        def removed() -> tuple[int, int]:
            with self._writer() as writer:
                count = writer.remove(where)
                return count, writer.info().crops

        count, remaining = await self.on_store(removed)
        self.audit.record(who, "remove", filters=given.describe(), removed=count)
        return schemas.RemoveOut(removed=count, remaining=remaining)


def _local(epoch: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, zone)
