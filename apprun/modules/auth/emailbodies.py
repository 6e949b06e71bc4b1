"""Request bodies of the email flows (lenient, as GoTrue: unknown fields ignored, ``null`` =
absent)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from apprun.modules.auth.schemas import Body, PkcePair


class RecoverBody(PkcePair):
    email: str | None = Field(None, max_length=320)


class OtpBody(PkcePair):
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    data: dict[str, Any] | None = None
    create_user: bool = True


class ResendBody(PkcePair):
    type: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)


class VerifyBody(Body):
    type: str | None = Field(None, max_length=32)
    token: str | None = Field(None, max_length=512)
    token_hash: str | None = Field(None, max_length=512)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)


class InviteBody(Body):
    email: str | None = Field(None, max_length=320)
    data: dict[str, Any] | None = None


class GenerateLinkBody(Body):
    type: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=320)
    password: str | None = Field(None, max_length=4096)
    new_email: str | None = Field(None, max_length=320)
    data: dict[str, Any] | None = None
