"""`GET /metrics` in Prometheus text format: requests by route and status, latency histograms, batch sizes.

Each app holds its own registry (prometheus_client's `CollectorRegistry`), so several services in one process (the
tests) never share counters. Requests are counted by the route's template (`/api/v1/crops/{crop_id}/image`), not
the raw path, so one client cannot grow the label set without bound.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vireid_requests", "HTTP requests answered", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "vireid_request_seconds",
            "Time to answer a request",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "vireid_embed_batch_images",
            "Images per engine call",
            ["branch"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.embed_seconds = Histogram(
            "vireid_embed_seconds",
            "Time of one engine call",
            ["branch"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe_batch(self, branch: str, images: int, seconds: float) -> None:
        self.batch_size.labels(branch).observe(images)
        self.embed_seconds.labels(branch).observe(seconds)

    def text(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (pure ASGI: it adds no task or copy per body)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - began)
