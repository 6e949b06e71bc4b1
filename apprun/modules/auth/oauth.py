"""Sign-in with an OAuth 2.0 / OpenID Connect provider, apprun being the client (GoTrue's
``GET /authorize`` and ``GET|POST /callback``).

1. ``/authorize`` records a flow state (the client's PKCE challenge if any, the checked
   ``redirect_to``, and our own PKCE verifier and nonce for the provider) and sends the browser
   to the provider with ``state`` = the flow id and its HMAC.
2. ``/callback`` claims the flow once, exchanges the code (with the client secret and our
   verifier), validates the ID token (JWKS signature, ``iss``, ``aud``, ``exp``, ``nonce``) or,
   for GitHub, reads its user API, then finds or creates the user: by identity (provider,
   subject) first; else an account with the same address, linked only if the provider
   vouches for the address; else a new user. The browser goes back to ``redirect_to`` with
   ``?code=`` (PKCE; the client then calls ``grant_type=pkce``) or the session in the fragment
   (implicit); failures carry ``error``, ``error_code`` and ``error_description``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from apprun.core.context import RequestContext
from apprun.modules.auth import flowstore, hooks, providerstore
from apprun.modules.auth.errors import (
    AuthError,
    BadOAuthCallback,
    BadOAuthState,
    FlowStateAlreadyUsed,
    ProviderDenied,
    ProviderDisabled,
    ValidationFailed,
)
from apprun.modules.auth.flows import Flows
from apprun.modules.auth.kernel import AuthKernel, dumps
from apprun.modules.auth.oauthclient import Endpoints, IdTokenInvalid
from apprun.modules.auth.oauthlink import Linker, SignedIn
from apprun.modules.auth.oauthprofile import Profile, github_profile, oidc_profile
from apprun.modules.auth.providers import SCOPE, Provider, Providers
from apprun.modules.auth.signin import SignIn
from apprun.modules.auth.validation import pkce_pair, safe_redirect

RESERVED_PARAMS = {"provider", "redirect_to", "scopes", "code_challenge", "code_challenge_method",
                   "invite_token", "response_type", "client_id", "redirect_uri", "scope", "state",
                   "nonce", "response_mode", "request", "request_uri", "apikey"}  # fmt: skip
"""Query parameters of /authorize that are not forwarded to the provider."""
PARAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_FORWARDED = 20
MAX_SCOPES = 30
OAUTH_ERRORS = {"signup_disabled": "access_denied", "user_banned": "access_denied",
                "provider_email_needs_verification": "access_denied"}  # fmt: skip
PROVIDER_ERROR = re.compile(r"^[a-z_]{1,64}$")


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """The query of ``GET /authorize``."""

    provider: str | None
    redirect_to: str | None = None
    scopes: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AuthorizeRequest:
        def get(name: str) -> str | None:
            return query.get(name) or None

        extra = tuple((k, v) for k, v in query.items() if k not in RESERVED_PARAMS)
        return cls(get("provider"), get("redirect_to"), get("scopes"), get("code_challenge"),
                   get("code_challenge_method"), extra)  # fmt: skip


class OAuth:
    """The OAuth / OpenID Connect sign-in flow."""

    def __init__(
        self,
        kernel: AuthKernel,
        signin: SignIn,
        flows: Flows,
        providers: Providers,
        state_key: bytes,
    ) -> None:
        self.k = kernel
        self.signin = signin
        self.flows = flows
        self.providers = providers
        self.client = providers.client
        self.linker = Linker(kernel)
        self._state_key = state_key

    def redirect_uri(self, ctx: RequestContext) -> str:
        return f"{self.k.auth_url(ctx.project)}/callback"

    async def authorize(self, ctx: RequestContext, request: AuthorizeRequest) -> str:
        """→ the provider's authorization URL for a new flow."""
        provider = await self._enabled(ctx, request.provider)
        pkce = pkce_pair(request.code_challenge, request.code_challenge_method)
        forwarded = _forwarded(request.extra)
        scopes = _scopes(provider.scopes, request.scopes)
        config = await self.k.config(ctx)
        site_url, _ = await self.k.site_settings(ctx)
        redirect_to = safe_redirect(request.redirect_to, site_url, config.uri_allow_list)
        if not redirect_to:
            raise ValidationFailed(
                "No redirect_to is allowed and the project has no site URL: set site_url in "
                "/admin/v1/settings.",
                details={"field": "redirect_to"},
            )
        endpoints, _ = await self.providers.endpoints(provider)
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
        async with (await self.k.db(ctx)).tx() as conn:
            flow_id = await self.flows.start(
                conn, provider=provider.name, method="oauth", user_id=None, pkce=pkce,
                redirect_to=redirect_to, data={"verifier": verifier, "nonce": nonce},
            )  # fmt: skip
        ours = {"code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256", **provider.authorize_params}  # fmt: skip
        if provider.kind != "github":
            ours["nonce"] = nonce
        url: str = prepare_grant_uri(
            endpoints.authorization_endpoint, provider.client_id, "code",
            redirect_uri=self.redirect_uri(ctx), scope=" ".join(scopes),
            state=self._state(ctx, flow_id), **ours,
        )  # fmt: skip
        # The client's extra parameters come last and never replace one of ours.
        extra = [(k, v) for k, v in forwarded.items() if k not in ours]
        return str(add_params_to_uri(url, extra)) if extra else url

    async def callback(self, ctx: RequestContext, params: Mapping[str, str]) -> str:
        """→ where the browser goes next: the flow's ``redirect_to`` with the outcome.
        A missing, forged, expired or used ``state`` raises (answered as JSON: there is no
        trusted place to send the browser)."""
        flow = await self._claim(ctx, params.get("state"))
        target = flow["redirect_to"] or ""
        try:
            return await self._complete(ctx, flow, params)
        except AuthError as error:
            await self.k.audit(
                ctx, "auth.oauth.failed", f"auth_provider:{flow['provider']}",
                project_id=ctx.project, error_code=error.error_code,
            )  # fmt: skip
            return error_url(target, error)

    async def _enabled(self, ctx: RequestContext, name: str | None) -> Provider:
        if not name:
            raise ValidationFailed("Unsupported provider: missing provider parameter",
                                   details={"field": "provider"})  # fmt: skip
        provider = await self.providers.find(ctx, name)
        if provider is None:
            raise ValidationFailed(f"Unsupported provider: provider {name[:63]} could not be found",
                                   details={"field": "provider"})  # fmt: skip
        if not provider.enabled:
            raise ProviderDisabled(f"Unsupported provider: provider {name} is not enabled",
                                   details={"field": "provider"})  # fmt: skip
        return provider

    async def _claim(self, ctx: RequestContext, state: str | None) -> Any:
        flow_id = self._flow_id(ctx, state)
        now = self.k.clock.now()
        async with (await self.k.db(ctx)).tx() as conn:
            flow = await flowstore.select_flow(conn, flow_id)
            if flow is None or flow["authentication_method"] != "oauth":
                raise BadOAuthState("OAuth state is not known: start the sign-in again.")
            if flow["auth_code_hash"] is not None or flow["used_at"] is not None:
                raise FlowStateAlreadyUsed()
            if now >= flow["expires_at"]:
                raise BadOAuthState("OAuth state has expired: start the sign-in again.")
            marker = "claimed:" + secrets.token_hex(16)
            if not await providerstore.claim_oauth_flow(conn, flow_id, flow["provider"],
                                                        marker, now):  # fmt: skip
                raise FlowStateAlreadyUsed()
        return flow

    async def _complete(self, ctx: RequestContext, flow: Any, params: Mapping[str, str]) -> str:
        provider_error = params.get("error")
        if provider_error:
            kind = provider_error if PROVIDER_ERROR.fullmatch(provider_error) else "access_denied"
            description = params.get("error_description") or "The provider refused the sign-in."
            raise ProviderDenied(description[:500], details={"provider_error": kind})
        code = params.get("code")
        if not code:
            raise BadOAuthCallback("The provider's callback carries no authorization code.")
        provider = await self.providers.find(ctx, flow["provider"])
        if provider is None or not provider.enabled:
            raise ProviderDisabled(f"Provider {flow['provider']} is not enabled anymore.")
        endpoints, api_url = await self.providers.endpoints(provider)
        _check_iss_param(params.get("iss"), endpoints)
        data = json.loads(flow["data"])
        tokens = await self.client.exchange_code(
            endpoints, provider.credentials, code=code, redirect_uri=self.redirect_uri(ctx),
            code_verifier=data["verifier"],
        )  # fmt: skip
        profile = await self._profile(provider, endpoints, api_url, tokens, data["nonce"], params)
        return await self._sign_in(ctx, flow, provider, profile, tokens)

    async def _profile(
        self,
        provider: Provider,
        endpoints: Endpoints,
        api_url: str | None,
        tokens: dict[str, Any],
        nonce: str,
        params: Mapping[str, str],
    ) -> Profile:
        if api_url is not None:  # GitHub: OAuth 2.0 only
            user = await self.client.github_user(api_url, tokens["access_token"])
            return github_profile(user, api_url)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise IdTokenInvalid("The provider's token response has no ID token.")
        claims = await self.client.verify_id_token(
            endpoints, provider.client_id, id_token, nonce=nonce
        )
        if "email" not in claims:  # many providers keep the profile for userinfo
            info = await self.client.userinfo(endpoints, tokens["access_token"])
            if info and info.get("sub") != claims["sub"]:
                raise BadOAuthCallback("The provider's userinfo names another subject.")
            claims = {**info, **claims}
        return oidc_profile(provider.kind, claims, params.get("user"))

    async def _sign_in(
        self,
        ctx: RequestContext,
        flow: Any,
        provider: Provider,
        profile: Profile,
        tokens: dict[str, Any],
    ) -> str:
        provider_tokens = {
            field: tokens[name]
            for name, field in (("access_token", "provider_token"),
                                ("refresh_token", "provider_refresh_token"))
            if isinstance(tokens.get(name), str)
        }  # fmt: skip
        target = flow["redirect_to"] or ""
        pkce = flow["code_challenge"] is not None
        async with (await self.k.db(ctx)).tx() as conn:
            signed = await self.linker.resolve(ctx, conn, provider.name, profile)
            if pkce:
                await flowstore.update_flow(conn, flow["id"], {"data": dumps(provider_tokens)})
                auth_code = await self.flows.issue_code(conn, flow["id"], signed.user_id)
                url = with_params(target, query={"code": auth_code})
            else:
                await flowstore.mark_flow_used(conn, flow["id"], self.k.clock.now())
                session = await self.signin.open_session(ctx, conn, signed.user_id, "oauth")
                url = with_params(target, fragment=_session_fragment(session, provider_tokens))
        await self._signed_in(ctx, provider, signed, emit=not pkce)
        return url

    async def _signed_in(
        self, ctx: RequestContext, provider: Provider, signed: SignedIn, *, emit: bool
    ) -> None:
        event = hooks.UserEvent(signed.user_id, signed.email, "oauth")
        if signed.outcome == "created":
            await self.k.emit(ctx, hooks.USER_CREATED, event)
            await self.k.record(ctx, "auth.user.created", signed.user_id, provider=provider.name)
        elif signed.outcome == "linked":
            await self.k.record(ctx, "auth.identity.linked", signed.user_id,
                                provider=provider.name)  # fmt: skip
        if emit:  # a PKCE flow signs in when the client exchanges its code (Flows.exchange)
            await self.k.emit(ctx, hooks.USER_SIGNED_IN, event)
        await self.k.record(ctx, "auth.user.signed_in", signed.user_id, method="oauth",
                            provider=provider.name)  # fmt: skip

    def _state(self, ctx: RequestContext, flow_id: str) -> str:
        return f"{flow_id}.{self._mac(ctx, flow_id)}"

    def _mac(self, ctx: RequestContext, flow_id: str) -> str:
        digest = hmac.new(
            self._state_key, f"{ctx.project}/{flow_id}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _flow_id(self, ctx: RequestContext, state: str | None) -> str:
        """The flow a ``state`` names, if we signed it for this project."""
        flow_id, _, mac = (state or "").partition(".")
        if (
            not flow_id
            or len(flow_id) > 64
            or not hmac.compare_digest(mac.encode(), self._mac(ctx, flow_id).encode())
        ):
            raise BadOAuthState()
        return flow_id


def _forwarded(extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Extra query parameters for the provider (``queryParams`` of the clients)."""
    if len(extra) > MAX_FORWARDED:
        raise ValidationFailed(f"At most {MAX_FORWARDED} extra query parameters are forwarded.",
                               details={"field": "query"})  # fmt: skip
    for name, value in extra:
        if not PARAM_NAME.fullmatch(name) or len(value) > 1000:
            raise ValidationFailed(f"Query parameter {name[:64]!r} cannot be forwarded.",
                                   details={"field": name[:64]})  # fmt: skip
    return dict(extra)


def _scopes(defaults: tuple[str, ...], requested: str | None) -> list[str]:
    """The provider's scopes, then those the client asks for (``scopes``, space-separated)."""
    extra = (requested or "").split()
    if len(extra) > MAX_SCOPES or any(not SCOPE.fullmatch(s) for s in extra):
        raise ValidationFailed("scopes must be space-separated OAuth scope tokens.",
                               details={"field": "scopes"})  # fmt: skip
    return list(dict.fromkeys([*defaults, *extra]))


def _check_iss_param(iss: str | None, endpoints: Endpoints) -> None:
    # RFC 9207: a provider that names itself in the callback must be the one we sent the
    # user to (a mix-up attack would swap them).
    issuer = endpoints.issuer
    if iss and issuer and "{tenantid}" not in issuer and iss != issuer:
        raise BadOAuthCallback("The callback comes from another issuer than the provider's.")


def _session_fragment(session: dict[str, Any], provider_tokens: dict[str, str]) -> dict[str, str]:
    fields = {
        "access_token": session["access_token"],
        "expires_at": str(session["expires_at"]),
        "expires_in": str(session["expires_in"]),
        "refresh_token": session["refresh_token"],
        "token_type": "bearer",
        **provider_tokens,
    }
    return {**fields, "sb": ""}


def error_url(target: str, error: AuthError) -> str:
    """``target`` with GoTrue's error fields in the query and again in the fragment."""
    provider_error = error.details.get("provider_error")
    if isinstance(provider_error, str):
        kind = provider_error
    elif error.status >= 500:
        kind = "server_error"
    else:
        kind = OAUTH_ERRORS.get(error.error_code) or (
            "access_denied" if error.status == 403 else "invalid_request"
        )
    fields = {"error": kind, "error_code": error.error_code,
              "error_description": error.detail_message}  # fmt: skip
    return with_params(target, query=fields, fragment={**fields, "sb": ""})


def with_params(
    target: str, *, query: dict[str, str] | None = None, fragment: dict[str, str] | None = None
) -> str:
    """``target`` with ``query`` added to its query string and its fragment replaced."""
    parts = urlsplit(target)
    new_query = parts.query
    if query:
        new_query = "&".join(p for p in (parts.query, urlencode(query)) if p)
    new_fragment = urlencode(fragment) if fragment is not None else parts.fragment
    return urlunsplit(parts._replace(query=new_query, fragment=new_fragment))
