"""Prometheus metrics: request counts and latencies per route, and the outbox depth read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("countersign_http_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("countersign_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60))
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def series(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        """The request counter and latency histogram of one (method, route, status), looked up once: `labels()`
        checks and joins its labels under a lock on every call. Routes are the app's templates ("unmatched" for
        the rest), so the keys stay few."""
        key = (method, route, status)
        found = self._series.get(key)
        if found is None:
            found = self._series[key] = (self.requests.labels(method, route, str(status)),
                                         self.latency.labels(method, route))
        return found

    def add_gauges(self, name: str, doc: str, read: Callable[[], dict[str, float]], label: str) -> None:
        """A gauge family computed on each scrape (e.g. outbox depth per kind), never stale."""

        class _Collector:
            def collect(self) -> Any:
                family = GaugeMetricFamily(name, doc, labels=[label])
                for key, value in read().items():
                    family.add_metric([key], value)
                yield family

        self.registry.register(_Collector())


class MetricsMiddleware:
    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            count, latency = self.metrics.series(scope["method"], route, status)
            count.inc()
            latency.observe(time.perf_counter() - started)
