"""Property-based requests generated from /openapi.json: no input may cause a server error,
and every 2xx body must match its documented schema."""

from __future__ import annotations

import asyncio
import os

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from apprun.testing.scenario import ADMIN_EMAIL, ADMIN_PASSWORD

EXAMPLES_PER_OPERATION = int(os.environ.get("APPRUN_TEST_FUZZ_EXAMPLES", "15"))


def sign_in(app: FastAPI) -> str:
    async def run() -> str:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.post(
                    "/admin/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                )
        token: str = response.json()["access_token"]
        return token

    return asyncio.run(run())


def test_generated_requests(app: FastAPI) -> None:
    headers = {"Authorization": f"Bearer {sign_in(app)}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            # A fixed sequence in the suite; APPRUN_TEST_FUZZ_EXAMPLES explores at random.
            derandomize=os.environ.get("APPRUN_TEST_FUZZ_EXAMPLES") is None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(
                response, checks=(not_a_server_error, response_schema_conformance)
            )

        check()
