"""Prometheus metrics, correct with several worker processes.

With one process the metrics live in a registry of this app. With several, uvicorn's workers
share ``PROMETHEUS_MULTIPROC_DIR`` (set by ``apprun serve``) and ``/metrics`` merges every
worker's files, so counters are totals for the whole server.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "apprun_http_requests_total",
            "HTTP requests served, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "apprun_http_request_duration_seconds",
            "Time to serve an HTTP request, by route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "apprun_http_requests_in_flight",
            "HTTP requests being served now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.db_connections = Gauge(
            "apprun_db_connections_in_use",
            "Database connections checked out of their pool, by pool.",
            ["pool"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def pool_listener(self, pool: str, delta: int) -> None:
        self.db_connections.labels(pool=pool).inc(delta)

    def render(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)

    @staticmethod
    def worker_exited(pid: int) -> None:
        if os.environ.get(MULTIPROC_ENV):
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
