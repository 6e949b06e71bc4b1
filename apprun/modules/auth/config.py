"""The project's auth configuration: stored in its ``auth_config`` table, edited through
``GET/PATCH /admin/v1/auth/config`` (service_role or admin). The SMTP password is sealed at rest
and never returned."""

from __future__ import annotations

import json
import ssl
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.db import Database
from apprun.core.errors import ValidationFailed
from apprun.lib.crypto import seal, unseal
from apprun.modules.auth import keystore, mailtemplates

MAX_PASSWORD_LENGTH = 1024


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (587), tls (implicit, 465) or none (local relays)."
    )
    user: str | None = Field(None, max_length=320)
    password: SecretStr | None = Field(None, description="Sealed at rest; never returned.")
    sender: str = Field(min_length=3, max_length=320, description="From address.")
    sender_name: str | None = Field(None, max_length=200)
    ca_certificate: str | None = Field(
        None,
        max_length=65536,
        description="PEM of the CA that signed the server's certificate (a private relay); "
        "default: the system's CAs. The server's name is always checked.",
    )

    @field_validator("ca_certificate")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ssl.create_default_context(cadata=value)
            except (ssl.SSLError, ValueError) as exc:
                raise ValueError(f"not a PEM certificate: {exc}") from None
        return value

    def tls_context(self) -> ssl.SSLContext | None:
        """The context for STARTTLS or implicit TLS; None: aiosmtplib's default (system CAs)."""
        if self.ca_certificate is None:
            return None
        return ssl.create_default_context(cadata=self.ca_certificate)


class EmailTemplate(BaseModel):
    """A project's version of one mail in one locale; a part left out stays built-in."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(None, max_length=998)
    html: str | None = Field(None, max_length=100_000, description="Jinja2, autoescaped.")
    text: str | None = Field(None, max_length=100_000, description="Jinja2, plain text.")

    @model_validator(mode="after")
    def _compiles(self) -> EmailTemplate:
        for part in mailtemplates.PARTS:
            source = getattr(self, part)
            if source:
                mailtemplates.check(source, part)
        return self


EmailKind = Literal[
    "confirmation", "invite", "magic_link", "recovery", "email_change", "reauthentication"
]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")]
EmailTemplates = dict[EmailKind, Annotated[dict[Locale, EmailTemplate], Field(max_length=20)]]


class AuthConfig(BaseModel):
    """Every auth setting of one project, with its default."""

    model_config = ConfigDict(extra="forbid")

    disable_signup: bool = Field(False, description="Refuse new sign-ups (admins still invite).")
    external_email_enabled: bool = Field(True, description="Email and password sign-in.")
    anonymous_users_enabled: bool = Field(False, description="POST /signup with no credentials.")
    mailer_autoconfirm: bool = Field(
        False, description="Sign users in at sign-up without confirming their address."
    )
    password_min_length: int = Field(8, ge=6, le=128)
    uri_allow_list: list[str] = Field(
        default_factory=list,
        description="Globs of redirect_to URLs allowed besides the site URL (** crosses /).",
    )
    refresh_token_reuse_interval: int = Field(
        10, ge=0, le=300, description="Seconds a rotated refresh token still answers (races)."
    )
    session_timebox_seconds: int = Field(
        30 * 24 * 3600, ge=300, description="Absolute session lifetime."
    )
    session_inactivity_timeout_seconds: int = Field(
        7 * 24 * 3600, ge=300, description="A session not refreshed for this long ends."
    )
    recent_sign_in_seconds: int = Field(
        24 * 3600, ge=60, description="Password changes in older sessions need current_password."
    )
    otp_expiry_seconds: int = Field(3600, ge=60, le=86400, description="Email links and codes.")
    otp_length: int = Field(6, ge=6, le=10)
    email_max_frequency_seconds: int = Field(
        60, ge=0, description="Least time between two mails of one kind to one address."
    )
    mfa_max_enrolled_factors: int = Field(10, ge=1, le=50)
    smtp: SmtpConfig | None = None
    secure_email_change: bool = Field(
        True, description="An email change is confirmed from the current and the new address."
    )
    secure_password_change: bool = Field(
        False,
        description="Password changes in sessions older than recent_sign_in_seconds need a "
        "reauthentication code (GET /reauthenticate) instead of current_password.",
    )
    email_templates: EmailTemplates = Field(
        default_factory=dict,
        description="Per kind and locale: subject, html, text (Jinja2) replacing the built-in.",
    )
    rate_limit_sign_in: int = Field(
        30, ge=1, le=100_000, description="Sign-ups and password sign-ins per IP per 5 minutes."
    )
    rate_limit_token_refresh: int = Field(
        150, ge=1, le=100_000, description="Refresh-token grants per IP per 5 minutes."
    )
    rate_limit_verify: int = Field(
        30, ge=1, le=100_000, description="OTP and link verifications per IP per 5 minutes."
    )
    rate_limit_otp: int = Field(
        30, ge=1, le=100_000, description="OTP, magic-link and recovery requests per IP per 5 min."
    )
    failed_attempts_before_delay: int = Field(
        5, ge=1, le=100, description="Wrong passwords or codes per account before delays start."
    )
    failed_attempts_max_delay_seconds: int = Field(
        900, ge=1, le=3600, description="Cap of the delay that doubles with each further failure."
    )


class AuthConfigPatch(BaseModel):
    """A merge patch: keys given are set, keys given as null go back to their default."""

    model_config = ConfigDict(extra="forbid")

    disable_signup: bool | None = None
    external_email_enabled: bool | None = None
    anonymous_users_enabled: bool | None = None
    mailer_autoconfirm: bool | None = None
    password_min_length: int | None = Field(None, ge=6, le=128)
    uri_allow_list: list[str] | None = None
    refresh_token_reuse_interval: int | None = Field(None, ge=0, le=300)
    session_timebox_seconds: int | None = Field(None, ge=300)
    session_inactivity_timeout_seconds: int | None = Field(None, ge=300)
    recent_sign_in_seconds: int | None = Field(None, ge=60)
    otp_expiry_seconds: int | None = Field(None, ge=60, le=86400)
    otp_length: int | None = Field(None, ge=6, le=10)
    email_max_frequency_seconds: int | None = Field(None, ge=0)
    mfa_max_enrolled_factors: int | None = Field(None, ge=1, le=50)
    smtp: SmtpConfig | None = None
    secure_email_change: bool | None = None
    secure_password_change: bool | None = None
    email_templates: EmailTemplates | None = None
    rate_limit_sign_in: int | None = Field(None, ge=1, le=100_000)
    rate_limit_token_refresh: int | None = Field(None, ge=1, le=100_000)
    rate_limit_verify: int | None = Field(None, ge=1, le=100_000)
    rate_limit_otp: int | None = Field(None, ge=1, le=100_000)
    failed_attempts_before_delay: int | None = Field(None, ge=1, le=100)
    failed_attempts_max_delay_seconds: int | None = Field(None, ge=1, le=3600)


class ConfigStore:
    """Reads and writes one project's ``AuthConfig``; the SMTP password is sealed."""

    def __init__(self, clock: Clock, seal_key: bytes) -> None:
        self._clock = clock
        self._seal_key = seal_key

    async def load(self, db: Database, project: str) -> AuthConfig:
        async with db.read() as conn:
            stored = await keystore.select_config(conn)
        values: dict[str, Any] = {k: json.loads(v) for k, v in stored.items()}
        smtp = values.get("smtp")
        if isinstance(smtp, dict) and smtp.get("password"):
            smtp["password"] = unseal(self._seal_key, smtp["password"], project.encode()).decode()
        return AuthConfig.model_validate(values)

    async def update(self, ctx: RequestContext, db: Database, patch: AuthConfigPatch) -> AuthConfig:
        """Merge ``patch`` into the stored configuration; an SMTP block given without a
        password keeps the stored one."""
        changes = patch.model_dump(mode="json", exclude_unset=True)
        resets = sorted(k for k, v in changes.items() if v is None)
        current = await self.load(db, ctx.project)
        if patch.smtp is not None:
            password = patch.smtp.password or (current.smtp.password if current.smtp else None)
            changes["smtp"]["password"] = password.get_secret_value() if password else None
        merged = current.model_dump(mode="json", exclude=set(resets))
        if current.smtp is not None and current.smtp.password is not None and "smtp" in merged:
            merged["smtp"]["password"] = current.smtp.password.get_secret_value()
        given = {k: v for k, v in changes.items() if v is not None}
        try:  # refuse the whole patch before writing anything
            AuthConfig.model_validate(merged | given)
        except ValidationError as exc:
            fields = [
                {"field": ".".join(map(str, e["loc"])), "reason": e["msg"]} for e in exc.errors()
            ]
            raise ValidationFailed(details={"fields": fields}) from None
        updates = {}
        for key, value in changes.items():
            if value is None:
                continue
            if key == "smtp" and value.get("password"):
                sealed = seal(self._seal_key, value["password"].encode(), ctx.project.encode())
                value = {**value, "password": sealed}  # noqa: PLW2901
            updates[key] = json.dumps(value)
        async with db.tx() as conn:
            await keystore.upsert_config(conn, updates, self._clock.now())
            await keystore.delete_config(conn, resets)
        return await self.load(db, ctx.project)
