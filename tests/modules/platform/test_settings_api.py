"""/admin/v1/settings: per-project runtime settings, kept in the project's own database."""

from __future__ import annotations

import pytest

from apprun.testing import (
    ApiScenario,
    ScenarioEnv,
    as_admin,
    as_anon,
    as_service,
    no_auth,
    scenarios,
)

pytestmark = pytest.mark.anyio

CASES = scenarios(
    ApiScenario(
        "read as anonymous", "GET", "/admin/v1/settings", auth=no_auth(), expected_status=401
    ),
    ApiScenario(
        "read with the anon key",
        "GET",
        "/admin/v1/settings",
        auth=as_anon(),
        expected_status=403,
        expected_content=('"platform.service_role_required"',),
    ),
    ApiScenario(
        "read with the service key",
        "GET",
        "/admin/v1/settings",
        auth=as_service(),
        expected_content=('"jwt_expiry_seconds":3600',),
    ),
    ApiScenario("read as admin", "GET", "/admin/v1/settings", auth=as_admin()),
    ApiScenario(
        "update with the service key",
        "PATCH",
        "/admin/v1/settings",
        auth=as_service(),
        json={"site_url": "https://app.example"},
        expected_content=('"site_url":"https://app.example"',),
        expected_hooks={"platform.settings.updated": 1},
    ),
    ApiScenario(
        "update with the anon key",
        "PATCH",
        "/admin/v1/settings",
        auth=as_anon(),
        json={"site_url": "https://evil.example"},
        expected_status=403,
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "update out of range",
        "PATCH",
        "/admin/v1/settings",
        auth=as_service(),
        json={"jwt_expiry_seconds": 5},
        expected_status=422,
        expected_content=('"field":"jwt_expiry_seconds"',),
        expected_hooks={"*": 0},
    ),
    ApiScenario(
        "update an unknown setting",
        "PATCH",
        "/admin/v1/settings",
        auth=as_service(),
        json={"colour": "red"},
        expected_status=422,
    ),
)


@pytest.mark.parametrize("case", CASES)
async def test_settings_api(case: ApiScenario, env: ScenarioEnv) -> None:
    await case.run(env)


async def test_a_partial_update_keeps_the_rest(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    await env.client.patch(
        "/admin/v1/settings",
        headers=service,
        json={"site_url": "https://a", "metadata": {"tier": "gold"}},
    )
    await env.client.patch("/admin/v1/settings", headers=service, json={"jwt_expiry_seconds": 900})
    current = (await env.client.get("/admin/v1/settings", headers=service)).json()
    assert current == {
        "site_url": "https://a",
        "jwt_expiry_seconds": 900,
        "metadata": {"tier": "gold"},
    }


async def test_a_rejected_update_changes_nothing(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    await env.client.patch("/admin/v1/settings", headers=service, json={"site_url": "https://a"})
    bad = await env.client.patch(
        "/admin/v1/settings",
        headers=service,
        json={"site_url": "https://b", "jwt_expiry_seconds": -1},
    )
    assert bad.status_code == 422
    current = (await env.client.get("/admin/v1/settings", headers=service)).json()
    assert current["site_url"] == "https://a"


async def test_null_resets_a_setting_to_its_default(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    await env.client.patch(
        "/admin/v1/settings",
        headers=service,
        json={"site_url": "https://a", "jwt_expiry_seconds": 900},
    )
    reset = await env.client.patch(
        "/admin/v1/settings", headers=service, json={"jwt_expiry_seconds": None, "metadata": None}
    )
    assert reset.status_code == 200
    assert reset.json() == {"site_url": "https://a", "jwt_expiry_seconds": 3600, "metadata": {}}
    again = (await env.client.get("/admin/v1/settings", headers=service)).json()
    assert again == reset.json()


@pytest.mark.parametrize(
    "metadata",
    [{"big": 2**64}, {"blob": "x" * 20000}],
    ids=["integer beyond 64 bits", "too large"],
)
async def test_metadata_is_bounded(env: ScenarioEnv, metadata: dict[str, object]) -> None:
    service = await env.key_headers("default", "service_role")
    response = await env.client.patch(
        "/admin/v1/settings", headers=service, json={"metadata": metadata}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "metadata"
    current = await env.client.get("/admin/v1/settings", headers=service)
    assert current.json()["metadata"] == {}
