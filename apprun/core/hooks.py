"""The hooks bus: typed, in-process events between modules.

A hook has a dotted name (``platform.project.created``) and a payload (any object, usually a
frozen dataclass declared in the emitting module's ``hooks.py``). Subscribers are sync or async
callables; they run in subscription order, and an error in one is logged and does not stop the
others or the emitter.
"""

from __future__ import annotations

import fnmatch
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("apprun.hooks")

Handler = Callable[["Hook"], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class Hook:
    name: str
    payload: Any
    project: str | None = None


class Hooks:
    """Subscribe by exact name or glob pattern (``platform.*``, ``*``); emit awaits every match."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Handler]] = []

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Register ``handler`` for hooks matching ``pattern``; returns an unsubscribe function."""
        entry = (pattern, handler)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    async def emit(self, name: str, payload: Any, *, project: str | None = None) -> int:
        """Deliver a hook to every matching subscriber; returns how many failed."""
        hook = Hook(name, payload, project)
        failures = 0
        for pattern, handler in list(self._subscribers):
            if not fnmatch.fnmatchcase(name, pattern):
                continue
            try:
                result = handler(hook)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                failures += 1
                log.exception("hook subscriber failed", extra={"hook": name})
        return failures
