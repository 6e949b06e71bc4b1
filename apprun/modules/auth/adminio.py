"""The admin users API's inputs and outputs: bodies, user ids, pagination and its headers,
ban durations, phone numbers, requested roles, sessions."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from apprun.core.context import Role
from apprun.lib.goduration import parse_duration
from apprun.modules.auth.errors import InvalidUserId, ValidationFailed
from apprun.modules.auth.schemas import MAX_METADATA_BYTES, Body, iso

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000
MAX_ROLES = 100
PHONE = re.compile(r"^[1-9]\d{6,14}$")
RESERVED_ROLES = {Role.ANON.value, Role.SERVICE_ROLE.value, Role.PLATFORM_ADMIN.value}


@dataclass(frozen=True, slots=True)
class PreparedUpdate:
    """What an update sets that was checked before its transaction."""

    email: str | None
    phone: str | None
    password_hash: str | None
    banned_until: datetime | None
    now: datetime


class AdminUserAttributes(Body):
    """The body of ``POST /admin/users`` and ``PUT /admin/users/{id}``."""

    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    password: str | None = Field(None, max_length=4096)
    password_hash: str | None = Field(None, max_length=1024)
    id: str | None = Field(None, max_length=64)
    email_confirm: bool | None = None
    phone_confirm: bool | None = None
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    role: str | None = Field(None, max_length=63)
    ban_duration: str | None = Field(None, max_length=64)


class AdminUserDelete(Body):
    should_soft_delete: bool = False


def parse_user_id(value: str) -> str:
    """The canonical form of a user id; GoTrue's 404 ``validation_failed`` if not a UUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidUserId(details={"field": "id"}) from None


def pagination(page: str | None, per_page: str | None) -> tuple[int, int]:
    """``page``/``per_page`` query values; empty ones (as supabase-js sends) are defaults."""
    try:
        number = int(page) if page else 1
        size = int(per_page) if per_page else DEFAULT_PER_PAGE
    except ValueError:
        raise ValidationFailed("Bad Pagination Parameters", details={"field": "page"}) from None
    if number < 1 or not 1 <= size <= MAX_PER_PAGE:
        raise ValidationFailed(
            f"Bad Pagination Parameters: page >= 1, 1 <= per_page <= {MAX_PER_PAGE}",
            details={"field": "page" if number < 1 else "per_page"},
        )
    return number, size


def pagination_headers(total: int, page: int, per_page: int) -> dict[str, str]:
    """GoTrue's ``X-Total-Count`` and ``Link`` (``page`` first: supabase-js reads the digit
    after the first ``=``)."""
    last = -(-total // per_page)
    links = []
    if page < last:
        links.append(f'</admin/users?page={page + 1}&per_page={per_page}>; rel="next"')
    links.append(f'</admin/users?page={last}&per_page={per_page}>; rel="last"')
    return {"X-Total-Count": str(total), "Link": ", ".join(links)}


def normalise_phone(phone: str) -> str:
    """E.164 digits without ``+`` (GoTrue stores them so)."""
    digits = re.sub(r"[\s().-]", "", phone).removeprefix("+")
    if not PHONE.fullmatch(digits):
        raise ValidationFailed(
            "Invalid phone number format (E.164 required)", details={"field": "phone"}
        )
    return digits


def ban_until(duration: str, now: datetime) -> datetime | None:
    """``ban_duration`` (a Go duration, or ``none``) → the end of the ban, None when lifted."""
    if duration == "none":
        return None
    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise ValidationFailed(
            f"invalid format for ban duration: {exc}", details={"field": "ban_duration"}
        ) from None
    return now + length if length > timedelta(0) else None


def check_metadata(name: str, value: dict[str, Any] | None) -> None:
    if value is not None and len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValidationFailed(
            f"{name} must be at most {MAX_METADATA_BYTES} bytes as JSON", details={"field": name}
        )


def requested_roles(body: AdminUserAttributes, current: list[str]) -> list[str] | None:
    """The apprun roles the body asks for: ``app_metadata.roles`` (``null`` clears them), plus
    ``role`` (added to them, or to the ``current`` ones); None if it does not touch them."""
    meta = body.app_metadata or {}
    roles: list[str] | None = None
    if "roles" in meta:
        value = meta["roles"]
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(r, str) for r in value)
        ):
            raise ValidationFailed(
                "app_metadata.roles must be a list of role names",
                details={"field": "app_metadata.roles"},
            )
        roles = list(value or [])
    if body.role is not None and body.role != Role.AUTHENTICATED.value:
        # GoTrue's `role` is the Postgres role of the user's tokens; apprun's tokens all say
        # `authenticated`, and a role of the project is what rules can test (has_role).
        roles = [*(current if roles is None else roles), body.role]
    if roles is None:
        return None
    names = sorted({r for r in roles if r != Role.AUTHENTICATED.value})
    reserved = sorted(RESERVED_ROLES.intersection(names))
    if reserved or len(names) > MAX_ROLES:
        raise ValidationFailed(
            f"app_metadata.roles may hold at most {MAX_ROLES} roles of the project, "
            "not anon, service_role or platform_admin",
            details={"field": "app_metadata.roles", "roles": reserved},
        )
    return names


def stored_app_metadata(body: AdminUserAttributes) -> dict[str, Any]:
    return {k: v for k, v in (body.app_metadata or {}).items() if k != "roles"}


def render_session(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "aal": row["aal"],
        "amr": json.loads(row["amr"]),
        "factor_id": row["factor_id"],
        "user_agent": row["user_agent"],
        "ip": row["ip"],
        "created_at": iso(row["created_at"]),
        "refreshed_at": iso(row["refreshed_at"]),
        "not_after": iso(row["not_after"]),
    }
