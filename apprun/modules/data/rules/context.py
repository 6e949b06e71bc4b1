"""What a rule is evaluated against besides the record: the caller (``@auth``) and the request
(``@request``), plus the error for rules that parse but cannot be compiled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apprun.core.context import Principal
from apprun.lib.rules import is_index


class RuleCompileError(ValueError):
    """A rule that parses but cannot be compiled for a collection: an unknown field, function or
    ``@`` name, a type mismatch, an operator on the wrong kind of operand.

    ``validate_rule`` reports exactly these problems, so a rule it accepted compiles.
    """


@dataclass(frozen=True)
class AuthInfo:
    """Who is asking (``@auth.*``); ``id`` is None when the caller is anonymous."""

    id: str | None
    role: str
    roles: tuple[str, ...]
    email: str | None = None
    aal: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, principal: Principal, roles: tuple[str, ...]) -> AuthInfo:
        """The caller of a request, holding ``roles``."""
        return cls(
            id=principal.subject if principal.role.value == "authenticated" else None,
            role=principal.role.value,
            roles=roles,
            email=principal.email,
            aal=principal.aal,
            claims=principal.claims,
        )

    def claim(self, path: tuple[str, ...]) -> Any:
        """``@auth.claims.a.b`` (``a[0]`` indexes a list): the nested claim, or None when any
        step is missing."""
        current: Any = self.claims
        for key in path:
            if isinstance(current, list | tuple) and is_index(key) and int(key) < len(current):
                current = current[int(key)]
            elif isinstance(current, Mapping) and key in current:
                current = current[key]
            else:
                return None
        return current


@dataclass(frozen=True)
class RequestInfo:
    """The request being authorised (``@request.*``); ``body`` is the insert/update payload."""

    method: str
    body: Mapping[str, Any] | None = None

    def body_value(self, name: str) -> Any:
        """``@request.body.<name>``, or None when the body or the key is missing."""
        if not isinstance(self.body, Mapping):
            return None
        return self.body.get(name)
