"""``/healthz`` (alive), ``/readyz`` (every configured backend answers), ``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from fastapi import APIRouter
from starlette.responses import Response

from apprun.http.metrics import Metrics
from apprun.modules.web import JsonResponse

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 3.0


def build_health_router(checks: dict[str, Check], metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> JsonResponse:
        """The process is alive and serving."""
        return JsonResponse({"status": "ok"})

    @router.get("/readyz")
    async def readyz() -> JsonResponse:
        """Every configured backend answers; 503 names those that do not."""
        results = {name: await _run(check) for name, check in checks.items()}
        failing = {name: error for name, error in results.items() if error is not None}
        body: dict[str, object] = {
            "status": "unavailable" if failing else "ok",
            "checks": {name: error or "ok" for name, error in results.items()},
        }
        if failing:
            body["failing"] = sorted(failing)
        return JsonResponse(body, status_code=503 if failing else 200)

    @router.get("/metrics", response_class=Response)
    async def metrics_endpoint() -> Response:
        """Prometheus exposition of the whole server (all worker processes)."""
        body = await anyio.to_thread.run_sync(metrics.render)
        return Response(body, media_type=metrics.content_type)

    return router


async def _run(check: Check) -> str | None:
    try:
        with anyio.fail_after(CHECK_TIMEOUT_SECONDS):
            await check()
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return type(exc).__name__
    return None
