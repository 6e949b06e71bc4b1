"""``/openapi.json``: the whole API, plus the caller's project's collections.

The static part is FastAPI's document of every route. With the project's service_role key
(or as a platform admin), the project's ``/rest/v1/{collection}`` paths and row schemas are
merged in, so one document describes everything the caller can use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import Response

from apprun.core.context import RequestContext
from apprun.modules.web import Ctx

Extra = Callable[[RequestContext], Awaitable[dict[str, Any]]]


def build_openapi_router(document: Callable[[], dict[str, Any]], extra: Extra) -> APIRouter:
    router = APIRouter()

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(ctx: Ctx) -> Response:
        merged = dict(document())
        if ctx.principal.is_service:
            merged = _merge(merged, await extra(ctx))
        return Response(orjson.dumps(merged), media_type="application/json")

    @router.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="apprun API")

    return router


def _merge(base: dict[str, Any], addition: dict[str, Any]) -> dict[str, Any]:
    components = dict(base.get("components", {}))
    components["schemas"] = {**components.get("schemas", {}), **addition["components"]["schemas"]}
    return {**base, "paths": {**base["paths"], **addition["paths"]}, "components": components}
