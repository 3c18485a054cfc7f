"""`GET /healthz` (is it up) and `GET /metrics` (Prometheus text): for load balancers and monitoring, no token."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vireid.serve import schemas
from vireid.serve.routes.deps import Service

routes = APIRouter(tags=["health"])


@routes.get("/healthz", response_model=schemas.HealthOut)
async def healthz() -> schemas.HealthOut:
    return schemas.HealthOut(status="ok")


@routes.get("/metrics")
async def metrics(service: Service) -> Response:
    body, content_type = service.metrics.text()
    return Response(body, media_type=content_type)
