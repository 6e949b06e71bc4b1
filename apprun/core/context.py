"""Who is asking and for which project: the Principal and the RequestContext."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from apprun.core.tenancy import Placement


class Role(StrEnum):
    ANON = "anon"
    AUTHENTICATED = "authenticated"
    SERVICE_ROLE = "service_role"
    PLATFORM_ADMIN = "platform_admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller. ``key_verified`` is False when the request carried no credential at all."""

    role: Role
    subject: str | None = None
    email: str | None = None
    key_verified: bool = False
    aal: str | None = None
    """Authenticator assurance level of a signed-in user (``aal1``, ``aal2``)."""
    claims: Mapping[str, Any] = field(default_factory=dict)
    """The end user's token claims, for rules (``@auth.claims.*``)."""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN

    @property
    def is_service(self) -> bool:
        return self.role in (Role.SERVICE_ROLE, Role.PLATFORM_ADMIN)

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        if self.role is Role.PLATFORM_ADMIN:
            return f"admin:{self.email or self.subject}"
        if self.subject:
            return f"{self.role.value}:{self.subject}"
        return self.role.value


ANONYMOUS = Principal(Role.ANON)
SYSTEM = Principal(Role.SERVICE_ROLE, subject="system", key_verified=True)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What every service call receives: the project, the caller, and request metadata."""

    project: str
    principal: Principal = ANONYMOUS
    placement: Placement | None = None
    request_id: str | None = None
    locale: str = "en"
    client_ip: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def system(cls, project: str = "default", request_id: str | None = None) -> RequestContext:
        """A context for work the platform does on its own (CLI, bootstrap, jobs)."""
        return cls(project=project, principal=SYSTEM, request_id=request_id)
