"""Input and output models of the platform's API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, EmailStr, Field

from apprun.core.models import Strict

SLUG_BODY = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"
SLUG = f"^{SLUG_BODY}$"
KeyName = Literal["anon", "service_role"]
KEY_NAMES: tuple[KeyName, ...] = ("anon", "service_role")


class TokenRequest(Strict):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name)
    expires_in: int


class ProjectCreate(Strict):
    id: str | None = Field(None, min_length=2, max_length=40, pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    cluster: str | None = Field(None, max_length=63)


class ProjectUpdate(Strict):
    name: str = Field(min_length=1, max_length=200)


class Project(BaseModel):
    id: str
    name: str
    cluster: str
    created_at: datetime
    updated_at: datetime


class ApiKey(BaseModel):
    name: KeyName
    key: str
    id: str
    expires_at: int


class RotateKeys(Strict):
    names: list[KeyName] = Field(default_factory=lambda: list(KEY_NAMES), min_length=1)


class AdminCreate(Strict):
    email: EmailStr
    password: str = Field(min_length=12, max_length=1024)


class Admin(BaseModel):
    id: str
    email: str
    created_at: datetime
    last_login_at: datetime | None


class AuditEntry(BaseModel):
    seq: int
    time: datetime
    actor: str
    action: str
    target: str | None
    project_id: str | None
    request_id: str | None
    ip: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditQuery(Strict):
    action: str | None = None
    actor: str | None = None
    project_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = Field(
        None, ge=1, le=2**63 - 1, description="Cursor: entries with seq below this."
    )
    limit: int = Field(100, ge=1, le=1000)


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_cursor: int | None


class AuditVerification(BaseModel):
    ok: bool
    checked: int
    problems: list[str]


MAX_METADATA_BYTES = 16 * 1024


def _bounded_json(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        size = len(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        raise ValueError("must be JSON whose integers fit in 64 bits") from None
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return value


BoundedJson = Annotated[dict[str, Any], AfterValidator(_bounded_json)]


class ProjectSettings(Strict):
    site_url: str | None = Field(None, max_length=2048)
    jwt_expiry_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600)
    metadata: BoundedJson = Field(default_factory=dict)


class ProjectSettingsPatch(Strict):
    """A merge patch: keys given are set, keys given as null go back to their default."""

    site_url: str | None = Field(None, max_length=2048)
    jwt_expiry_seconds: int | None = Field(None, ge=60, le=7 * 24 * 3600)
    metadata: BoundedJson | None = None
