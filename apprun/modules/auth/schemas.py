"""Request bodies of /auth/v1 (unknown fields ignored, ``null`` = absent, as GoTrue does) and
the shapes supabase-js and supabase-py parse: *User*, *Identity*, *Factor*, *Token response*."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apprun.modules.auth.errors import BadJson

MAX_METADATA_BYTES = 16 * 1024


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @classmethod
    def parse(cls, raw: bytes) -> Any:
        """Parse a JSON body; an empty body is ``{}``; anything unparsable is 400 bad_json."""
        try:
            data = json.loads(raw) if raw.strip() else {}
            if not isinstance(data, dict):
                raise BadJson("The request body must be a JSON object.")
            data = {k: v for k, v in data.items() if v is not None}
            return cls.model_validate(data)
        except (ValueError, ValidationError) as exc:
            raise BadJson(details={"reason": _reason(exc)}) from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


class PkcePair(Body):
    code_challenge: str | None = Field(None, max_length=128)
    code_challenge_method: str | None = Field(None, max_length=10)


class SignupBody(PkcePair):
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    password: str | None = Field(None, max_length=4096)
    data: dict[str, Any] | None = None


class PasswordGrant(Body):
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    password: str | None = Field(None, max_length=4096)


class RefreshGrant(Body):
    refresh_token: str | None = Field(None, max_length=512)


class PkceGrant(Body):
    auth_code: str | None = Field(None, max_length=512)
    code_verifier: str | None = Field(None, max_length=512)


class UserUpdate(PkcePair):
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    password: str | None = Field(None, max_length=4096)
    current_password: str | None = Field(None, max_length=4096)
    nonce: str | None = Field(None, max_length=64)
    data: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def render_identity(row: Any) -> dict[str, Any]:
    return {
        "identity_id": row["id"],
        "id": row["provider_id"],
        "user_id": row["user_id"],
        "identity_data": json.loads(row["identity_data"]) or {"sub": row["provider_id"]},
        "provider": row["provider"],
        "email": row["email"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "last_sign_in_at": iso(row["last_sign_in_at"]),
    }


def render_factor(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "friendly_name": row["friendly_name"],
        "factor_type": row["factor_type"],
        "status": row["status"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "phone": "",
        "last_challenged_at": None,
    }


def render_user(
    row: Any, identities: list[Any], factors: list[Any], roles: list[str] | None = None
) -> dict[str, Any]:
    """GoTrue's *User*; ``app_metadata.roles`` carries the user's apprun roles."""
    app_metadata = json.loads(row["app_metadata"])
    if roles is not None:
        app_metadata["roles"] = roles
    confirmed = row["email_confirmed_at"] or row["phone_confirmed_at"]
    user: dict[str, Any] = {
        "id": row["id"],
        "aud": "authenticated",
        "role": "authenticated",
        "email": row["email"] or "",
        "phone": row["phone"] or "",
        "email_confirmed_at": iso(row["email_confirmed_at"]),
        "phone_confirmed_at": iso(row["phone_confirmed_at"]),
        "confirmed_at": iso(confirmed),
        "confirmation_sent_at": iso(row["confirmation_sent_at"]),
        "recovery_sent_at": iso(row["recovery_sent_at"]),
        "email_change_sent_at": iso(row["email_change_sent_at"]),
        "new_email": row["new_email"],
        "invited_at": iso(row["invited_at"]),
        "last_sign_in_at": iso(row["last_sign_in_at"]),
        "banned_until": iso(row["banned_until"]),
        "app_metadata": app_metadata,
        "user_metadata": json.loads(row["user_metadata"]),
        "identities": [render_identity(i) for i in identities],
        "factors": [render_factor(f) for f in factors],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "is_anonymous": bool(row["is_anonymous"]),
    }
    return {k: v for k, v in user.items() if v is not None}
