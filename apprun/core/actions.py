"""The actions registry: named operations with JSON-schema input and output.

Every module registers what it can do (``platform.create_project``, later ``data.insert`` …).
Workflows, the CLI and the console call actions by name; input is validated against the
action's pydantic model before the handler runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from apprun.core.context import RequestContext
from apprun.core.errors import ActionInputInvalid, ActionNotFound
from apprun.core.models import field_errors

ActionHandler = Callable[[RequestContext, Any], Awaitable[BaseModel | list[Any] | None]]


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel] | None
    handler: ActionHandler

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_model.model_json_schema(),
            "output_schema": self.output_model.model_json_schema() if self.output_model else None,
        }


class Actions:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(
        self,
        name: str,
        input_model: type[BaseModel],
        output_model: type[BaseModel] | None,
        handler: ActionHandler,
        description: str = "",
    ) -> None:
        if name in self._actions:
            raise ValueError(f"action {name!r} is already registered")
        self._actions[name] = Action(name, description, input_model, output_model, handler)

    def get(self, name: str) -> Action:
        try:
            return self._actions[name]
        except KeyError:
            raise ActionNotFound(details={"action": name}) from None

    def list(self) -> list[Action]:
        return sorted(self._actions.values(), key=lambda a: a.name)

    async def call(self, ctx: RequestContext, name: str, payload: dict[str, Any]) -> Any:
        """Validate ``payload`` against the action's input model and run it."""
        action = self.get(name)
        try:
            data = action.input_model.model_validate(payload)
        except ValidationError as exc:
            raise ActionInputInvalid(
                details={"action": name, "errors": field_errors(exc)}
            ) from None
        result = await action.handler(ctx, data)
        if isinstance(result, BaseModel):
            return result.model_dump(mode="json")
        return result
