"""What the gallery holds: its cameras per modality, and a description of the service and its indexes."""

from __future__ import annotations

from fastapi import APIRouter

from vireid.serve import schemas
from vireid.serve.routes.deps import Reader, Service

routes = APIRouter(prefix="/api/v1", tags=["gallery"])


@routes.get("/cameras", response_model=schemas.CamerasOut)
async def cameras(service: Service, _who: Reader) -> schemas.CamerasOut:
    """The cameras each modality's crops come from."""
    return await service.cameras()


@routes.get("/info", response_model=schemas.InfoOut)
async def info(service: Service, _who: Reader) -> schemas.InfoOut:
    """Crops and index per modality, the export's fingerprint, the engines, the time zone and the limits."""
    return await service.info()
