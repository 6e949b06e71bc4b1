"""apprun's pytest plugin (fixtures) and helpers for table-driven API tests."""

from apprun.testing.scenario import (
    ApiScenario,
    Auth,
    ScenarioEnv,
    as_admin,
    as_anon,
    as_service,
    no_auth,
    raw_headers,
    scenarios,
)

__all__ = [
    "ApiScenario",
    "Auth",
    "ScenarioEnv",
    "as_admin",
    "as_anon",
    "as_service",
    "no_auth",
    "raw_headers",
    "scenarios",
]
