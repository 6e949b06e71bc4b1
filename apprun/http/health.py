"""``/healthz`` (alive), ``/readyz`` (every configured backend answers), ``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import anyio
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

from apprun.http.metrics import Metrics
from apprun.modules.web import JsonResponse

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 3.0


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    failing: list[str] = []


def build_health_router(checks: dict[str, Check], metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> Health:
        """The process is alive and serving."""
        return Health(status="ok")

    @router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz() -> JsonResponse:
        """Every configured backend answers; 503 names those that do not."""
        results = {name: await _run(check) for name, check in checks.items()}
        failing = sorted(name for name, error in results.items() if error is not None)
        body = Readiness(
            status="unavailable" if failing else "ok",
            checks={name: error or "ok" for name, error in results.items()},
            failing=failing,
        )
        return JsonResponse(body.model_dump(), status_code=503 if failing else 200)

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
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
