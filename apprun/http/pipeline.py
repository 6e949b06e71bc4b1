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
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apprun.config import RateLimitSettings
from apprun.core.context import ANONYMOUS, Principal, RequestContext
from apprun.core.errors import AppError, InvalidCharacters, ProjectMismatch, RateLimited
from apprun.core.ratelimit import RateLimiter
from apprun.core.tenancy import Placement
from apprun.http.middleware import header
from apprun.lib.locale import negotiate
from apprun.lib.tokenbucket import Decision
from apprun.modules.platform import DEFAULT_PROJECT, PlatformService

OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/_/")
SUPPORTED_LOCALES = ["en", "zh-CN"]


@dataclass(frozen=True, slots=True)
class Caller:
    project: str
    principal: Principal
    placement: Placement | None
    credential: str | None
    """Rate-limit identity of the credential (key id or admin id), None when anonymous."""


class PipelineMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        platform: PlatformService,
        limiter: RateLimiter,
        limits: RateLimitSettings,
        trust_forwarded_for: bool,
    ) -> None:
        self.app = app
        self.platform = platform
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
        state["ctx"] = RequestContext(
            project=caller.project,
            principal=caller.principal,
            placement=caller.placement,
            request_id=state.get("request_id"),
            locale=negotiate(_text(header(scope, b"accept-language")), SUPPORTED_LOCALES, "en"),
            client_ip=client_ip,
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
                return forwarded.decode("latin-1").split(",")[0].strip()
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
