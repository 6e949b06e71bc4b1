"""The data module's actions: the same use cases as /rest/v1, with the caller's policies."""

from __future__ import annotations

import pytest

from apprun.core.actions import Actions
from apprun.core.context import ANONYMOUS, RequestContext
from apprun.core.errors import ActionInputInvalid
from apprun.modules.data.errors import RestError
from apprun.testing import ScenarioEnv

pytestmark = pytest.mark.anyio


async def test_rows_through_actions(env: ScenarioEnv) -> None:
    actions: Actions = env.services.actions
    system = RequestContext.system()
    created = await actions.call(
        system,
        "data.create_collection",
        {
            "name": "notes",
            "fields": [{"name": "text", "type": "text"}, {"name": "n", "type": "integer"}],
        },
    )
    assert created["applied"] is True
    inserted = await actions.call(
        system,
        "data.insert",
        {
            "collection": "notes",
            "values": [{"id": "a", "text": "one", "n": 1}, {"id": "b", "text": "two", "n": 2}],
        },
    )
    assert [r["id"] for r in inserted["rows"]] == ["a", "b"]
    selected = await actions.call(
        system, "data.select", {"collection": "notes", "query": "select=text&n=gt.1"}
    )
    assert selected == {"rows": [{"text": "two"}]}
    updated = await actions.call(
        system, "data.update", {"collection": "notes", "query": "id=eq.a", "values": {"n": 10}}
    )
    assert updated["rows"][0]["n"] == 10
    deleted = await actions.call(
        system, "data.delete", {"collection": "notes", "query": "id=eq.b&select=id"}
    )
    assert deleted == {"rows": [{"id": "b"}]}
    with pytest.raises(ActionInputInvalid):
        await actions.call(system, "data.select", {"collection": "notes", "nope": 1})
    with pytest.raises(RestError) as malformed:
        await actions.call(system, "data.select", {"collection": "notes", "query": "n=zz.1"})
    assert malformed.value.pg_code == "PGRST100"
    # The caller's grants and policies apply: an anonymous context is refused.
    with pytest.raises(RestError) as refused:
        await actions.call(
            RequestContext("default", ANONYMOUS), "data.select", {"collection": "notes"}
        )
    assert refused.value.status == 401
