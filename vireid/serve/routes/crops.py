"""Crops: an image by its gallery id, and (with the write token) uploading and removing crops."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import FileResponse

from vireid.serve import schemas
from vireid.serve.routes.deps import Reader, Service, Writer, only_fields

routes = APIRouter(prefix="/api/v1", tags=["crops"])


@routes.get("/crops/{crop_id}/image", response_class=FileResponse)
async def image(crop_id: int, service: Service, _who: Reader) -> FileResponse:
    """The crop's image, by its gallery id only: the id resolves to the catalogued file, which must lie under
    the folders the gallery was built from."""
    path, media_type = await service.image(crop_id)
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


@routes.post(
    "/crops",
    response_model=schemas.CropsOut,
    dependencies=[Depends(only_fields(schemas.CropsForm, "files"))],
)
async def add(
    service: Service,
    who: Writer,
    form: Annotated[schemas.CropsForm, Form()],
    files: Annotated[list[UploadFile], File(description="Crop images, one part each.")],
) -> schemas.CropsOut:
    """Add crops (write token): each stored once by content; the same metadata for every file."""
    data = [await part.read() for part in files]
    return await service.add(who, form, data)


@routes.delete("/crops", response_model=schemas.RemoveOut)
async def remove(body: schemas.RemoveIn, service: Service, who: Writer) -> schemas.RemoveOut:
    """Remove crops by id, camera or capture-time range (write token; conditions combine)."""
    return await service.remove(who, body)
