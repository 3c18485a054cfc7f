"""`POST /api/v1/search`: an uploaded image or a stored crop in, a ranked page of the other modality out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile

from vireid.serve import schemas
from vireid.serve.routes.deps import Reader, Service, only_fields

routes = APIRouter(prefix="/api/v1", tags=["search"])


@routes.post(
    "/search",
    response_model=schemas.SearchOut,
    dependencies=[Depends(only_fields(schemas.SearchForm, "image"))],
)
async def search(
    service: Service,
    who: Reader,
    form: Annotated[schemas.SearchForm, Form()],
    image: Annotated[UploadFile | None, File(description="The query crop (JPEG, PNG, BMP or WebP).")] = None,
) -> Response:
    """Rank the crops of the other modality (or the same, with `same_modality`) for the query, among the
    cameras, dates and hours asked for, one page of `k` at a time (`cursor`: the previous page's
    `next_cursor`, sent with the same query and filters)."""
    data = await image.read() if image is not None else None
    answer = await service.search(who, form, data)
    # Serialised here, once: returned as a model, FastAPI would dump it to a dict, validate that against
    # `response_model` and serialise it again (about 5 % of the event loop's time under load).
    return Response(answer.model_dump_json(), media_type="application/json")
