"""Hooks the auth module emits (after commit), with their payload."""

from __future__ import annotations

from dataclasses import dataclass

USER_CREATED = "auth.user.created"
USER_CONFIRMED = "auth.user.confirmed"
USER_SIGNED_IN = "auth.user.signed_in"
USER_SIGNED_OUT = "auth.user.signed_out"
USER_UPDATED = "auth.user.updated"
USER_DELETED = "auth.user.deleted"
USER_BANNED = "auth.user.banned"
PASSWORD_CHANGED = "auth.user.password_changed"
TOKEN_REFRESHED = "auth.token.refreshed"
REFRESH_TOKEN_REUSED = "auth.token.reused"
FACTOR_ENROLLED = "auth.factor.enrolled"
FACTOR_VERIFIED = "auth.factor.verified"
FACTOR_DELETED = "auth.factor.deleted"


@dataclass(frozen=True, slots=True)
class UserEvent:
    user_id: str
    email: str | None = None
    method: str | None = None
    session_id: str | None = None
