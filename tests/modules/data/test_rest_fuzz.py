"""Property-based requests generated from a project's REST OpenAPI document (GET /rest/v1/):
whatever the filters, bodies and headers, /rest/v1 never answers with a server error."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from apprun.core.context import RequestContext

EXAMPLES_PER_OPERATION = int(os.environ.get("APPRUN_TEST_FUZZ_EXAMPLES", "25"))
POSTS: dict[str, Any] = {
    "name": "posts",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max_length": 50},
        {"name": "views", "type": "integer", "min": 0},
        {"name": "score", "type": "float"},
        {"name": "published", "type": "boolean"},
        {"name": "tags", "type": "json"},
        {"name": "status", "type": "select", "values": ["draft", "live"]},
        {"name": "when", "type": "timestamp"},
        {"name": "contact", "type": "email"},
    ],
}


def prepare(app: FastAPI) -> tuple[dict[str, Any], dict[str, str]]:
    async def run() -> tuple[dict[str, Any], dict[str, str]]:
        async with app.router.lifespan_context(app):
            services = app.state.services
            keys = await services.platform.projects.list_keys("default")
            key = next(k.key for k in keys if k.name == "service_role")
            headers = {"apikey": key, "Authorization": f"Bearer {key}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                created = await client.post("/admin/v1/collections", headers=headers, json=POSTS)
                assert created.status_code == 201, created.text
                document = (await client.get("/rest/v1/", headers=headers)).json()
            assert RequestContext  # the document is the project's, read with its key
        return document, headers

    return asyncio.run(run())


def test_rest_surface_has_no_server_errors(app: FastAPI) -> None:
    document, headers = prepare(app)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4
    seen: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=os.environ.get("APPRUN_TEST_FUZZ_EXAMPLES") is None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            seen.append(response.status_code)
            case.validate_response(response, checks=(not_a_server_error,))

        check()

    # The generated requests reached the app and exercised both answers and refusals.
    assert len(seen) >= 4 * 10
    assert any(200 <= status < 300 for status in seen)
    assert any(400 <= status < 500 for status in seen)
