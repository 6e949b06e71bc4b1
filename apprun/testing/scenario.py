"""Table-driven API tests, after PocketBase's ``ApiScenario``.

A scenario names a request (method, URL, credentials, body) and what must come back: the
status, strings the body must and must not contain, how many items a JSON list holds, and how
many hooks of each name fired. ``scenarios(...)`` turns a table into pytest parameters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import pytest

from apprun.core.hooks import Hook

if TYPE_CHECKING:
    from apprun.app import Services

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"


class HookRecorder:
    """Counts every hook the app emits, by name."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, hook: Hook) -> None:
        self.counts[hook.name] += 1

    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ScenarioEnv:
    """What a scenario runs against: the client, the services, and a hook recorder."""

    client: httpx.AsyncClient
    services: Services
    hooks: HookRecorder = field(default_factory=HookRecorder)
    _admin_token: str | None = None

    def __post_init__(self) -> None:
        self.services.hooks.subscribe("*", self.hooks)

    async def admin_headers(self) -> dict[str, str]:
        if self._admin_token is None:
            response = await self.client.post(
                "/admin/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            assert response.status_code == 200, response.text
            self._admin_token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._admin_token}"}

    async def key(self, project: str, name: str) -> str:
        keys = await self.services.platform.projects.list_keys(project)
        return next(k.key for k in keys if k.name == name)

    async def key_headers(self, project: str, name: str) -> dict[str, str]:
        key = await self.key(project, name)
        return {"apikey": key, "Authorization": f"Bearer {key}"}


class Auth(Protocol):
    async def headers(self, env: ScenarioEnv) -> dict[str, str]: ...


@dataclass(frozen=True)
class _AdminAuth:
    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        return await env.admin_headers()


@dataclass(frozen=True)
class _KeyAuth:
    project: str
    name: str

    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        return await env.key_headers(self.project, self.name)


@dataclass(frozen=True)
class _RawAuth:
    values: tuple[tuple[str, str], ...]

    async def headers(self, env: ScenarioEnv) -> dict[str, str]:
        return dict(self.values)


def as_admin() -> Auth:
    """A signed-in platform administrator."""
    return _AdminAuth()


def as_service(project: str = "default") -> Auth:
    """The project's service_role key (in ``apikey`` and ``Authorization``)."""
    return _KeyAuth(project, "service_role")


def as_anon(project: str = "default") -> Auth:
    """The project's anon key."""
    return _KeyAuth(project, "anon")


def no_auth() -> Auth:
    return _RawAuth(())


def raw_headers(**values: str) -> Auth:
    """Exactly these headers (``raw_headers(apikey="forged")``)."""
    return _RawAuth(tuple((k.replace("_", "-"), v) for k, v in values.items()))


Setup = Callable[[ScenarioEnv], Awaitable[None]]


@dataclass(frozen=True)
class ApiScenario:
    name: str
    method: str
    url: str
    auth: Auth = field(default_factory=no_auth)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expected_status: int = 200
    expected_content: tuple[str, ...] = ()
    not_expected_content: tuple[str, ...] = ()
    expected_len: int | None = None
    expected_hooks: dict[str, int] | None = None
    """Hook name → count; ``"*"`` is the total. Names not listed are not checked."""
    setup: Setup | None = None

    async def run(self, env: ScenarioEnv) -> httpx.Response:
        if self.setup is not None:
            await self.setup(env)
        headers = {**await self.auth.headers(env), **self.headers}
        before = env.hooks.counts.copy()
        response = await env.client.request(
            self.method, self.url, headers=headers, json=self.json, content=self.content
        )
        self.check(response, env.hooks.counts - before)
        return response

    def check(self, response: httpx.Response, hooks: Counter[str]) -> None:
        where = f"[{self.name}] {self.method} {self.url}"
        assert response.status_code == self.expected_status, (
            f"{where}: status {response.status_code}, expected {self.expected_status}: "
            f"{response.text[:500]}"
        )
        for text in self.expected_content:
            assert text in response.text, f"{where}: {text!r} missing from {response.text[:500]}"
        for text in self.not_expected_content:
            assert text not in response.text, f"{where}: {text!r} must not appear"
        if self.expected_len is not None:
            body = response.json()
            assert isinstance(body, list), f"{where}: expected a JSON list"
            assert len(body) == self.expected_len, f"{where}: {len(body)} items"
        for name, count in (self.expected_hooks or {}).items():
            seen = sum(hooks.values()) if name == "*" else hooks[name]
            assert seen == count, f"{where}: hook {name} fired {seen} times, expected {count}"


def scenarios(*cases: ApiScenario) -> list[Any]:
    """pytest parameters, one per scenario, with the scenario's name as its id."""
    names = [case.name for case in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"scenario names must be unique: {sorted(duplicates)}")
    return [pytest.param(case, id=case.name) for case in cases]
