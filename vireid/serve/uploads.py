"""`POST /api/v1/crops`: crops uploaded by a client, stored once each by content, as `vireid gallery add` does.

Each file is judged by decoding it, once (`images.py`), and the decoded pictures are what is embedded. A crop whose
content hash the gallery knows is skipped. The new crops are embedded in one batched call; then, under the
gallery's writer lock, each is written under the upload folder as `<sha256><suffix>` (a temporary file and a
rename, so a kill never leaves half an image) and committed in one store transaction. The upload folder is one of
the gallery's roots, so the image route serves it.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from vireid.gallery.records import Crop
from vireid.serve import schemas
from vireid.serve.auth import Principal
from vireid.serve.errors import ServiceError
from vireid.serve.filters import epoch
from vireid.serve.images import SUFFIX, decode_upload

if TYPE_CHECKING:
    from vireid.serve.service import GalleryService


async def add_uploads(
    service: GalleryService, who: Principal, form: schemas.CropsForm, files: list[bytes]
) -> schemas.CropsOut:
    limits = service.settings.limits
    if not files:
        raise ServiceError(400, "send the crops as `files` parts of a multipart form")
    if len(files) > limits.crops_per_upload:
        raise ServiceError(413, f"{len(files)} crops in one upload; the limit is {limits.crops_per_upload}")
    decoded = await asyncio.to_thread(
        lambda: [decode_upload(data, limits.pixels, f"file {i + 1}") for i, data in enumerate(files)]
    )
    hashes = [hashlib.sha256(data).hexdigest() for data in files]
    known = await service.on_store(lambda: service.store.known(hashes) if service.store.fingerprint else set())
    fresh: dict[str, tuple[bytes, Image.Image, str]] = {}
    for data, (picture, fmt), digest in zip(files, decoded, hashes, strict=True):
        if digest not in known:
            fresh.setdefault(digest, (data, picture, fmt))
    ids: dict[str, int] = {}
    if fresh:
        vectors = await service.embed_pictures(form.modality, lambda: [picture for _, picture, _ in fresh.values()])
        folder = service.settings.upload_dir.resolve()
        paths = {digest: folder / f"{digest}{SUFFIX[fmt]}" for digest, (_, _, fmt) in fresh.items()}
        time = epoch(form.time, service.zone) or 0
        crops = [Crop(d, str(paths[d]), form.modality, form.camera, time, form.track) for d in fresh]
        written = {paths[d]: data for d, (data, _, _) in fresh.items()}
        ids = await service.on_store(lambda: service.commit(crops, np.asarray(vectors, dtype=np.float32), written))
    answer = schemas.CropsOut(
        added=len(fresh),
        skipped=len(files) - len(fresh),
        crops=[schemas.AddedCrop(crop_id=str(ids[d]) if d in ids else None, sha256=d, added=d in ids) for d in hashes],
    )
    service.audit.record(who, "add", camera=form.camera, modality=form.modality, added=sorted(ids.values()))
    return answer
