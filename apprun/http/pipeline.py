"""The request pipeline: which project, who is calling, rate limits, locale.

Runs for every API request (not for health, metrics and documentation paths) and leaves a
``RequestContext`` in ``request.state.ctx`` for the routes.

- Project: the ``ref`` claim of a verified project key; else ``X-Apprun-Project``; else
  ``default``. A key for one project with ``X-Apprun-Project`` naming another is refused.
- Principal: a platform-admin bearer token; else the role of the project key found in
  ``Authorization: Bearer`` or ``apikey``; else anonymous (no credential).
- Errors (bad key, unknown project, rate limit) are raised by ``enforce_pipeline``, an app-wide
  dependency, after routing; a path that matches no route answers 404 whatever the key.
- Rate limits: a token bucket per client IP and one per credential; ``429`` with
  ``Retry-After``, and ``RateLimit-Limit/Remaining/Reset`` on every answer.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apprun.config import RateLimitSettings
from apprun.core.context import ANONYMOUS, Principal, RequestContext
from apprun.core.errors import (
    AppError,
    InvalidCharacters,
    InvalidToken,
    ProjectMismatch,
    RateLimited,
)
from apprun.core.ratelimit import RateLimiter
from apprun.core.tenancy import Placement
from apprun.http.middleware import header
from apprun.lib import jwt
from apprun.lib.locale import negotiate
from apprun.lib.tokenbucket import Decision
from apprun.modules.platform import DEFAULT_PROJECT, PlatformService

OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/_/")
SUPPORTED_LOCALES = ["en", "zh-CN"]
AUTH_PREFIX = "/auth/v1/"
STORAGE_READS = ("/storage/v1/object/", "/storage/v1/render/image/")
STORAGE_AUTHENTICATED = (
    "/storage/v1/object/authenticated/",
    "/storage/v1/object/info/authenticated/",
    "/storage/v1/render/image/authenticated/",
)


Authenticate = Callable[[Placement, str], Awaitable[Principal]]
"""Verifies an end user's access token for a project (the auth module's)."""


@dataclass(frozen=True, slots=True)
class Caller:
    project: str
    principal: Principal
    placement: Placement | None
    credential: str | None
    """Rate-limit identity of the credential (key id or admin id), None when anonymous."""
    jwt_error: str | None = None
    """Why the end user's token was refused, for /auth/v1 routes that need a user."""


class PipelineMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        platform: PlatformService,
        limiter: RateLimiter,
        limits: RateLimitSettings,
        trust_forwarded_for: bool,
        authenticate: Authenticate,
    ) -> None:
        self.app = app
        self.platform = platform
        self.authenticate = authenticate
        self.limiter = limiter
        self.limits = limits
        self.trust_forwarded_for = trust_forwarded_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        client_ip = self._client_ip(scope)
        try:
            _check_characters(scope)
            # The IP bucket comes first, so guessing keys is throttled before it costs a lookup.
            decision = await self._limit(f"ip:{client_ip}", per_key=False)
            caller = await self._identify(scope)
            if caller.credential is not None:
                by_key = await self._limit(caller.credential, per_key=True)
                if decision is None or (
                    by_key is not None and by_key.remaining < decision.remaining
                ):
                    decision = by_key
        except AppError as error:
            # Raised by `enforce_pipeline` once the router has matched the route, so that
            # metrics and logs name the route even for refused requests.
            state["pipeline_error"] = error
            await self.app(scope, receive, send)
            return
        extra = {"user_agent": _text(header(scope, b"user-agent")) or ""}
        if caller.jwt_error is not None:
            extra["jwt_error"] = caller.jwt_error
        state["ctx"] = RequestContext(
            project=caller.project,
            principal=caller.principal,
            placement=caller.placement,
            request_id=state.get("request_id"),
            locale=negotiate(_text(header(scope, b"accept-language")), SUPPORTED_LOCALES, "en"),
            client_ip=client_ip,
            extra=extra,
        )

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start" and decision is not None:
                message["headers"] = [*message.get("headers", []), *_limit_headers(decision)]
            await send(message)

        await self.app(scope, receive, send_with_limits)

    def _client_ip(self, scope: Scope) -> str:
        if self.trust_forwarded_for:
            forwarded = header(scope, b"x-forwarded-for")
            if forwarded:
                # Proxies append the address they saw: the rightmost entry is the one our
                # proxy wrote; entries to its left are whatever the client sent.
                return forwarded.decode("latin-1").split(",")[-1].strip()
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    async def _identify(self, scope: Scope) -> Caller:
        named = _text(header(scope, b"x-apprun-project"))
        apikey = _text(header(scope, b"apikey"))
        bearer = _bearer(_text(header(scope, b"authorization")))
        admin = None
        if bearer is not None and self.platform.admins.is_admin_token(bearer):
            admin = await self.platform.admins.verify_token(bearer)
            bearer = None
        if bearer is not None and _is_user_token(bearer):
            return await self._identify_user(scope, bearer, apikey, named)
        key_token = bearer or apikey
        if key_token is not None:
            identity = await self.platform.projects.verify_key(key_token)
            if apikey is not None and bearer is not None and apikey != bearer:
                # Both given (as supabase-js does): they must name the same project.
                other = await self.platform.projects.verify_key(apikey)
                if other.placement.project != identity.placement.project:
                    raise ProjectMismatch()
            project = identity.placement.project
            if named is not None and named != project:
                raise ProjectMismatch(details={"key_project": project, "named_project": named})
            principal = admin or Principal(identity.role, key_verified=True)
            credential = f"admin:{admin.subject}" if admin else f"key:{identity.key_id}"
            return Caller(project, principal, identity.placement, credential)
        project = named or DEFAULT_PROJECT
        placement = await self.platform.placement(project)
        if admin is not None:
            return Caller(project, admin, placement, f"admin:{admin.subject}")
        return Caller(project, ANONYMOUS, placement, None)

    async def _identify_user(
        self, scope: Scope, token: str, apikey: str | None, named: str | None
    ) -> Caller:
        """An end user's access token, with the project's key beside it (as supabase-js
        sends them) or alone (the token's project, which its signature then proves)."""
        if apikey is not None:
            identity = await self.platform.projects.verify_key(apikey)
            placement = identity.placement
            key_principal = Principal(identity.role, key_verified=True)
            credential: str | None = f"key:{identity.key_id}"
        else:
            ref = jwt.peek(token)[1].get("ref")
            placement = await self.platform.placement(ref if isinstance(ref, str) else "")
            key_principal, credential = ANONYMOUS, None
        project = placement.project
        if named is not None and named != project:
            raise ProjectMismatch(details={"key_project": project, "named_project": named})
        try:
            principal = await self.authenticate(placement, token)
        except AppError as error:
            if _optional_read(scope):
                return Caller(project, key_principal, placement, credential)
            if not scope["path"].startswith(AUTH_PREFIX):
                raise InvalidToken(error.detail_message) from None
            # GoTrue's public endpoints ignore a stale token; user endpoints say why.
            code = getattr(error, "error_code", "bad_jwt")
            return Caller(project, key_principal, placement, credential, jwt_error=code)
        return Caller(project, principal, placement, credential or f"user:{principal.subject}")

    async def _limit(self, bucket: str, *, per_key: bool) -> Decision | None:
        limits = self.limits
        if not limits.enabled:
            return None
        rate, burst = (
            (limits.key_per_second, limits.key_burst)
            if per_key
            else (limits.ip_per_second, limits.ip_burst)
        )
        decision = await self.limiter.hit(bucket, rate, burst)
        if not decision.allowed:
            retry = max(1, math.ceil(decision.retry_after))
            raise RateLimited(
                details={"retry_after": retry},
                headers={"Retry-After": str(retry), **_str_headers(_limit_headers(decision))},
            )
        return decision


def _optional_read(scope: Scope) -> bool:
    """Storage's downloads and info treat a refused token as none, as Supabase does: public
    files stay readable with a stale session (``authenticated`` routes still refuse)."""
    path = scope["path"]
    return (
        scope.get("method") in ("GET", "HEAD")
        and path.startswith(STORAGE_READS)
        and not path.startswith(STORAGE_AUTHENTICATED)
    )


def _is_user_token(token: str) -> bool:
    """End users' access tokens are signed asymmetrically; project keys with HS256."""
    try:
        header_, _ = jwt.peek(token)
    except jwt.TokenInvalid:
        return False
    return header_.get("alg") in jwt.ASYMMETRIC_ALGORITHMS


def _check_characters(scope: Scope) -> None:
    # No database stores NUL in text, and no legitimate URL carries one: refuse it up front.
    query = scope.get("query_string", b"").lower()
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        raise InvalidCharacters()


def enforce_pipeline(request: Request) -> None:
    """An app-wide dependency: refuse the request if the pipeline refused it."""
    error = getattr(request.state, "pipeline_error", None)
    if error is not None:
        raise error


def _limit_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(decision.remaining).encode()),
        (b"ratelimit-reset", str(max(0, math.ceil(decision.reset_after))).encode()),
    ]


def _str_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in headers}


def _text(value: bytes | None) -> str | None:
    if value is None:
        return None
    text = value.decode("latin-1").strip()
    return text or None


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
