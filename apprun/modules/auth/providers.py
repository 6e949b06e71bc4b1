"""The project's OAuth / OpenID Connect sign-in providers (``/admin/v1/auth/providers``).

A provider is a generic OpenID Provider (``kind`` ``oidc``: an ``issuer`` whose discovery
document says the rest) or a preset: ``google``, ``microsoft``, ``apple``, ``gitlab`` (OpenID
Connect with known issuers) and ``github`` (OAuth 2.0 only: the user comes from its API). The
client secret is sealed at rest with a key of its own, bound to the project and the provider's
name, and never returned. Everything is checked before anything is written: an issuer given
explicitly must answer its discovery document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from apprun.core.context import RequestContext
from apprun.lib.crypto import seal, unseal
from apprun.modules.auth import providerstore
from apprun.modules.auth.errors import (
    BadJson,
    ProviderExists,
    ProviderNotFound,
    ProviderUnavailable,
    ValidationFailed,
)
from apprun.modules.auth.kernel import AuthKernel
from apprun.modules.auth.oauthclient import ClientCredentials, Endpoints, OAuthClient

Kind = Literal["oidc", "google", "github", "microsoft", "apple", "gitlab"]
NAME = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")
SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")  # RFC 6749 §3.3 scope-token
RESERVED_NAMES = {"email", "phone", "anonymous", "sso", "saml", "password"}
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True, slots=True)
class Preset:
    issuer: str | None
    scopes: tuple[str, ...]
    authorize_params: dict[str, str] = field(default_factory=dict)


ALIASES = {"azure": "microsoft"}
"""Names the Supabase clients use for a preset (their ``Provider`` type has azure)."""
GITHUB_URL = "https://github.com"
GITHUB_API = "https://api.github.com"
PRESETS: dict[str, Preset] = {
    "oidc": Preset(None, ("openid", "email", "profile")),
    "google": Preset("https://accounts.google.com", ("openid", "email", "profile")),
    "microsoft": Preset(
        "https://login.microsoftonline.com/common/v2.0", ("openid", "email", "profile")
    ),
    # Apple posts the callback (and the user's name, once) when name or email is asked for.
    "apple": Preset(
        "https://appleid.apple.com", ("openid", "name", "email"), {"response_mode": "form_post"}
    ),
    "gitlab": Preset("https://gitlab.com", ("openid", "email", "profile")),
    "github": Preset(None, ("read:user", "user:email")),
}


class ProviderFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(None, description="Offered at /authorize (default true).")
    client_id: str | None = Field(None, min_length=1, max_length=255)
    client_secret: SecretStr | None = Field(
        None, max_length=4096, description="Sealed at rest; never returned."
    )
    issuer: str | None = Field(
        None, max_length=2048, description="OpenID issuer (required for kind oidc)."
    )
    scopes: list[str] | None = Field(None, max_length=30, description="Default: the kind's.")
    url: str | None = Field(None, max_length=2048, description="github: GitHub Enterprise URL.")
    api_url: str | None = Field(None, max_length=2048, description="github: its API URL.")


class ProviderCreate(ProviderFields):
    name: str = Field(min_length=2, max_length=63, description="As in ?provider=<name>.")
    kind: Kind | None = Field(
        None, description="Default: the name if it is a preset (azure: microsoft), else oidc."
    )


class ProviderPatch(ProviderFields):
    """Keys given are set, keys given as null go back to their default; the secret given
    replaces the stored one."""


class ProviderOut(BaseModel):
    name: str
    kind: Kind
    enabled: bool
    client_id: str
    client_secret_set: bool
    issuer: str | None
    scopes: list[str]
    url: str | None
    api_url: str | None
    callback_url: str = Field(description="Register this redirect URI at the provider.")
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider ready for a sign-in (secret unsealed)."""

    name: str
    kind: str
    enabled: bool
    client_id: str
    client_secret: str | None
    issuer: str | None
    scopes: tuple[str, ...]
    url: str | None
    api_url: str | None

    @property
    def credentials(self) -> ClientCredentials:
        return ClientCredentials(self.client_id, self.client_secret)

    @property
    def authorize_params(self) -> dict[str, str]:
        return PRESETS[self.kind].authorize_params

    def github_endpoints(self) -> tuple[Endpoints, str]:
        base = (self.url or GITHUB_URL).rstrip("/")
        api = self.api_url or (f"{base}/api/v3" if self.url else GITHUB_API)
        endpoints = Endpoints(None, f"{base}/login/oauth/authorize",
                              f"{base}/login/oauth/access_token",
                              token_auth_methods=("client_secret_post",))  # fmt: skip
        return endpoints, api


F = TypeVar("F", bound=ProviderFields)


def parse_body(raw: bytes, model: type[F]) -> F:
    """A JSON body → the model; 400 ``bad_json`` or ``validation_failed`` with field and reason."""
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise BadJson() from None
    if not isinstance(data, dict):
        raise BadJson("The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": ".".join(map(str, e["loc"])), "reason": e["msg"]} for e in exc.errors()]
        raise ValidationFailed(details={**errors[0], "fields": errors}) from None


def invalid(field_name: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{field_name}: {reason}", details={"field": field_name,
                                                                "reason": reason})  # fmt: skip


def check_url(field_name: str, value: str) -> str:
    """An https URL (http only on loopback hosts, for development) without query or fragment."""
    try:
        parts = urlsplit(value)
        secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
        ok = bool(parts.hostname) and secure and not parts.query and not parts.fragment
    except ValueError:
        ok = False
    if not ok:
        raise invalid(field_name, "must be an https URL without query or fragment "
                                  "(http only for localhost)")  # fmt: skip
    return value.rstrip("/") if parts.path in ("", "/") else value


def check_values(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """The stored configuration of a provider of ``kind``; raises with field and reason."""
    if not values.get("client_id"):
        raise invalid("client_id", "is required")
    if kind == "github":
        if values.get("issuer"):
            raise invalid("issuer", "github is OAuth 2.0 only: use url and api_url")
    elif values.get("url") or values.get("api_url"):
        name = "url" if values.get("url") else "api_url"
        raise invalid(name, "only for kind github (GitHub Enterprise)")
    if kind == "oidc" and not values.get("issuer"):
        raise invalid("issuer", "is required for kind oidc")
    for name in ("issuer", "url", "api_url"):
        if values.get(name):
            values[name] = check_url(name, values[name])
    scopes = values.get("scopes")
    if scopes is not None:
        bad = next((s for s in scopes if not SCOPE.fullmatch(s)), None)
        if bad is not None or not scopes:
            raise invalid("scopes", f"not a scope: {bad!r}" if bad else "must not be empty")
        values["scopes"] = list(dict.fromkeys(scopes))
    return {k: v for k, v in values.items() if v is not None}


class Providers:
    """The project's sign-in providers: admin CRUD, and lookup for the sign-in flow."""

    def __init__(self, kernel: AuthKernel, seal_key: bytes, client: OAuthClient) -> None:
        self.k = kernel
        self._seal_key = seal_key
        self.client = client

    async def list_providers(self, ctx: RequestContext) -> list[dict[str, Any]]:
        async with (await self.k.db(ctx)).read() as conn:
            rows = await providerstore.select_providers(conn)
        return [self._render(ctx, row) for row in rows]

    async def get_provider(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        return self._render(ctx, await self._row(ctx, name))

    async def create_provider(self, ctx: RequestContext, raw: bytes) -> dict[str, Any]:
        body = parse_body(raw, ProviderCreate)
        if not NAME.fullmatch(body.name) or body.name in RESERVED_NAMES:
            raise invalid("name", "must be 2-63 of a-z 0-9 _ -, start with a letter, and not be "
                                  "email, phone, anonymous, sso, saml or password")  # fmt: skip
        kind = (
            body.kind or ALIASES.get(body.name) or (body.name if body.name in PRESETS else "oidc")
        )
        fields = body.model_dump(exclude={"name", "kind", "enabled", "client_secret"})
        config = check_values(kind, fields)
        if kind != "oidc" and body.client_secret is None:
            raise invalid("client_secret", f"is required for kind {kind}")
        await self._check_discovery(kind, config)
        now = self.k.clock.now()
        row = {"name": body.name, "kind": kind, "enabled": body.enabled is not False,
               "config": json.dumps(config), "created_at": now, "updated_at": now,
               "client_secret": self._seal(ctx, body.name, body.client_secret)}  # fmt: skip
        async with (await self.k.db(ctx)).tx() as conn:
            if not await providerstore.insert_provider(conn, row):
                raise ProviderExists(details={"name": body.name})
        await self._audit(ctx, "auth.provider.created", body.name, kind=kind)
        return await self.get_provider(ctx, body.name)

    async def update_provider(self, ctx: RequestContext, name: str, raw: bytes) -> dict[str, Any]:
        patch = parse_body(raw, ProviderPatch).model_dump(exclude_unset=True)
        row = await self._row(ctx, name)
        config = {**json.loads(row["config"]), **patch}
        secret = config.pop("client_secret", None)
        enabled = config.pop("enabled", None)
        checked = check_values(row["kind"], config)
        if row["kind"] != "oidc" and "client_secret" in patch and secret is None:
            raise invalid("client_secret", f"is required for kind {row['kind']}")
        if "issuer" in patch:
            await self._check_discovery(row["kind"], checked)
        values: dict[str, Any] = {"config": json.dumps(checked), "updated_at": self.k.clock.now()}
        if "enabled" in patch:
            values["enabled"] = enabled is not False
        if "client_secret" in patch:
            values["client_secret"] = self._seal(ctx, name, secret)
        async with (await self.k.db(ctx)).tx() as conn:
            await providerstore.update_provider(conn, name, values)
        await self._audit(ctx, "auth.provider.updated", name, keys=sorted(patch))
        return await self.get_provider(ctx, name)

    async def delete_provider(self, ctx: RequestContext, name: str) -> None:
        async with (await self.k.db(ctx)).tx() as conn:
            if not await providerstore.delete_provider(conn, name):
                raise ProviderNotFound(details={"name": name})
        await self._audit(ctx, "auth.provider.deleted", name)

    async def find(self, ctx: RequestContext, name: str) -> Provider | None:
        """The provider for a sign-in, secret unsealed; None if there is none of that name."""
        async with (await self.k.db(ctx)).read() as conn:
            row = await providerstore.select_provider(conn, name)
        if row is None:
            return None
        config = json.loads(row["config"])
        secret = row["client_secret"]
        return Provider(
            name=row["name"], kind=row["kind"], enabled=bool(row["enabled"]),
            client_id=config["client_id"],
            client_secret=unseal(self._seal_key, secret, self._bound(ctx, name)).decode()
            if secret else None,
            issuer=config.get("issuer") or PRESETS[row["kind"]].issuer,
            scopes=tuple(config.get("scopes") or PRESETS[row["kind"]].scopes),
            url=config.get("url"), api_url=config.get("api_url"),
        )  # fmt: skip

    async def enabled_names(self, ctx: RequestContext) -> list[str]:
        async with (await self.k.db(ctx)).read() as conn:
            rows = await providerstore.select_providers(conn)
        return [row["name"] for row in rows if row["enabled"]]

    async def endpoints(self, provider: Provider) -> tuple[Endpoints, str | None]:
        """Where the provider answers, and (github) its API URL."""
        if provider.kind == "github":
            return provider.github_endpoints()
        assert provider.issuer is not None
        return await self.client.discover(provider.issuer), None

    async def _check_discovery(self, kind: str, config: dict[str, Any]) -> None:
        issuer = config.get("issuer")
        if kind == "github" or not issuer:
            return
        try:
            await self.client.discover(issuer, fresh=True)
        except ProviderUnavailable as exc:
            raise invalid("issuer", f"discovery failed: {exc.detail_message}") from None

    async def _row(self, ctx: RequestContext, name: str) -> Any:
        async with (await self.k.db(ctx)).read() as conn:
            row = await providerstore.select_provider(conn, name)
        if row is None:
            raise ProviderNotFound(details={"name": name})
        return row

    def _bound(self, ctx: RequestContext, name: str) -> bytes:
        return f"{ctx.project}/{name}".encode()

    def _seal(self, ctx: RequestContext, name: str, secret: SecretStr | str | None) -> str | None:
        if secret is None:
            return None
        text = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        return seal(self._seal_key, text.encode(), self._bound(ctx, name))

    def _render(self, ctx: RequestContext, row: Any) -> dict[str, Any]:
        config = json.loads(row["config"])
        preset = PRESETS[row["kind"]]
        return ProviderOut(
            name=row["name"], kind=row["kind"], enabled=bool(row["enabled"]),
            client_id=config["client_id"], client_secret_set=row["client_secret"] is not None,
            issuer=config.get("issuer") or preset.issuer,
            scopes=config.get("scopes") or list(preset.scopes),
            url=config.get("url"), api_url=config.get("api_url"),
            callback_url=f"{self.k.auth_url(ctx.project)}/callback",
            created_at=row["created_at"], updated_at=row["updated_at"],
        ).model_dump(mode="json")  # fmt: skip

    async def _audit(self, ctx: RequestContext, action: str, name: str, **details: Any) -> None:
        await self.k.audit(ctx, action, f"auth_provider:{name}", project_id=ctx.project, **details)
