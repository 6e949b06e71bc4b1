"""core: the hooks bus and the actions registry."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from apprun.core.actions import Actions
from apprun.core.context import RequestContext
from apprun.core.errors import ActionInputInvalid, ActionNotFound
from apprun.core.hooks import Hook, Hooks

pytestmark = pytest.mark.anyio


async def test_sync_and_async_subscribers_by_pattern() -> None:
    hooks = Hooks()
    seen: list[str] = []

    def sync_handler(hook: Hook) -> None:
        seen.append(f"sync:{hook.name}")

    async def async_handler(hook: Hook) -> None:
        seen.append(f"async:{hook.name}:{hook.payload}")

    hooks.subscribe("data.*", sync_handler)
    hooks.subscribe("data.row.created", async_handler)
    await hooks.emit("data.row.created", 1)
    await hooks.emit("auth.user.created", 2)
    assert seen == ["sync:data.row.created", "async:data.row.created:1"]


async def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    hooks = Hooks()
    seen: list[str] = []

    def broken(hook: Hook) -> None:
        raise RuntimeError("boom")

    hooks.subscribe("*", broken)
    hooks.subscribe("*", lambda hook: seen.append(hook.name))
    failures = await hooks.emit("x.y", None, project="p")
    assert failures == 1
    assert seen == ["x.y"]


async def test_unsubscribe() -> None:
    hooks = Hooks()
    seen: list[str] = []
    stop = hooks.subscribe("*", lambda hook: seen.append(hook.name))
    await hooks.emit("a", None)
    stop()
    await hooks.emit("b", None)
    assert seen == ["a"]


class Greet(BaseModel):
    name: str


class Greeting(BaseModel):
    text: str


async def greet(ctx: RequestContext, data: Greet) -> Greeting:
    return Greeting(text=f"hello {data.name} from {ctx.project}")


async def test_actions_validate_input_and_describe_schemas() -> None:
    actions = Actions()
    actions.register("demo.greet", Greet, Greeting, greet, "Say hello.")
    ctx = RequestContext.system("p1")
    assert await actions.call(ctx, "demo.greet", {"name": "ada"}) == {"text": "hello ada from p1"}
    with pytest.raises(ActionInputInvalid) as bad:
        await actions.call(ctx, "demo.greet", {"name": 5})
    assert bad.value.details["errors"][0]["field"] == "name"
    with pytest.raises(ActionNotFound):
        await actions.call(ctx, "demo.nothing", {})
    described = actions.get("demo.greet").describe()
    assert described["input_schema"]["properties"]["name"]["type"] == "string"
    assert described["output_schema"]["required"] == ["text"]
    with pytest.raises(ValueError, match="already registered"):
        actions.register("demo.greet", Greet, Greeting, greet)


async def test_platform_actions_are_registered(env: object) -> None:
    from apprun.testing import ScenarioEnv

    assert isinstance(env, ScenarioEnv)
    actions = env.services.actions
    names = [a.name for a in actions.list()]
    assert "platform.create_project" in names
    created = await actions.call(
        RequestContext.system(),
        "platform.create_project",
        {"id": "via-action", "name": "Via action"},
    )
    assert created["id"] == "via-action"
    listed = await env.client.get("/admin/v1/actions", headers=await env.admin_headers())
    assert any(a["name"] == "platform.list_projects" for a in listed.json())
    with pytest.raises(Exception, match="administrators"):
        await actions.call(RequestContext("default"), "platform.list_projects", {})
