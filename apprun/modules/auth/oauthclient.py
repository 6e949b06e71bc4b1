"""apprun as an OAuth 2.0 / OpenID Connect client, on the wire: discovery, the code exchange,
ID token validation against the provider's JWKS, userinfo, and GitHub's user API.

No database here. Discovery documents and key sets are cached per process; an ID token signed
with a key the cached set lacks makes one fresh fetch (a provider rotating keys), at most once a
minute per key set, and is refused if the key is still unknown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_token_request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from apprun.core.clock import Clock
from apprun.lib.jwt import TokenInvalid, peek
from apprun.modules.auth.errors import BadOAuthCallback, ProviderUnavailable

CACHE_SECONDS = 600.0
JWKS_REFETCH_SECONDS = 60.0
LEEWAY_SECONDS = 60
"""Clock skew tolerated on ``exp`` and ``iat``."""
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                       "ES512", "EdDSA")  # fmt: skip
"""Asymmetric only: a token signed with the client secret (HS256) or ``none`` is refused."""
MAX_RESPONSE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a provider answers (from its discovery document or a preset)."""

    issuer: str | None
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str | None = None
    userinfo_endpoint: str | None = None
    token_auth_methods: tuple[str, ...] = ("client_secret_basic",)
    id_token_algorithms: tuple[str, ...] = ("RS256",)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str | None


class IdTokenInvalid(BadOAuthCallback):
    """The ID token failed a check (signature, kid, iss, aud, exp, nonce)."""

    message = "The provider's ID token is not valid."


class OAuthClient:
    """Talks to providers over HTTPS (plain HTTP only to loopback addresses, for development)."""

    def __init__(self, clock: Clock, timeout: float = 10.0) -> None:
        self._clock = clock
        self._timeout = timeout
        self._discovery: dict[str, tuple[float, Endpoints]] = {}
        self._jwks: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    async def discover(self, issuer: str, *, fresh: bool = False) -> Endpoints:
        """The provider's ``/.well-known/openid-configuration``; its ``issuer`` must be the one
        configured (OpenID Connect Discovery §4.3), Microsoft's ``{tenantid}`` template aside."""
        cached = self._discovery.get(issuer)
        if cached is not None and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(url)
        if not isinstance(document, dict):
            raise ProviderUnavailable("The discovery document is not a JSON object.")
        announced = document.get("issuer")
        if announced != issuer and not _tenant_template_matches(str(announced), issuer):
            raise ProviderUnavailable(
                f"The discovery document names the issuer {announced!r}, not {issuer!r}."
            )
        endpoints = _endpoints_of(document, str(announced))
        self._discovery[issuer] = (time.monotonic(), endpoints)
        return endpoints

    async def exchange_code(
        self,
        endpoints: Endpoints,
        credentials: ClientCredentials,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> dict[str, Any]:
        """``grant_type=authorization_code`` at the token endpoint → the token response."""
        params = {"code": code, "redirect_uri": redirect_uri, "code_verifier": code_verifier}
        headers = {"Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        auth: tuple[str, str] | None = None
        secret = credentials.client_secret
        if secret is not None and "client_secret_basic" in endpoints.token_auth_methods:
            # RFC 6749 §2.3.1: both parts are form-encoded before they go into Basic.
            auth = (quote(credentials.client_id, safe=""), quote(secret, safe=""))
        else:
            params["client_id"] = credentials.client_id
            if secret is not None:
                params["client_secret"] = secret
        body = prepare_token_request("authorization_code", **params)
        response = await self._send("POST", endpoints.token_endpoint, content=body.encode(),
                                    headers=headers, auth=auth)  # fmt: skip
        tokens = _json_of(response)
        if response.status_code != 200 or not isinstance(tokens, dict) or "error" in tokens:
            detail = tokens if isinstance(tokens, dict) else {}
            reason = detail.get("error_description") or detail.get("error") or response.status_code
            raise BadOAuthCallback(f"The provider refused the authorization code: {reason}.")
        if not isinstance(tokens.get("access_token"), str):
            raise BadOAuthCallback("The provider's token response has no access_token.")
        return tokens

    async def verify_id_token(
        self, endpoints: Endpoints, client_id: str, token: str, *, nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims once its signature (by a key of the provider's JWKS), ``iss``,
        ``aud``/``azp``, ``exp``, ``iat`` and ``nonce`` hold; else ``IdTokenInvalid``."""
        try:
            header, unverified = peek(token)
        except TokenInvalid:
            raise IdTokenInvalid("The ID token is not a JWT.") from None
        alg = header.get("alg")
        if alg not in ID_TOKEN_ALGORITHMS or alg not in endpoints.id_token_algorithms:
            raise IdTokenInvalid(f"The ID token's algorithm {alg!r} is not accepted.")
        if endpoints.jwks_uri is None:
            raise IdTokenInvalid("The provider publishes no JWKS to verify its ID token.")
        jwk = await self._signing_key(endpoints.jwks_uri, header.get("kid"))
        try:
            claims = dict(jwt.decode(token, JWKRegistry.import_key(jwk), algorithms=[alg]).claims)
        except (JoseError, ValueError) as exc:
            raise IdTokenInvalid(f"The ID token's signature does not verify ({exc}).") from None
        _check_claims(claims, _expected_issuer(endpoints.issuer, unverified), client_id, nonce,
                      int(self._clock.now().timestamp()))  # fmt: skip
        return claims

    async def userinfo(self, endpoints: Endpoints, access_token: str) -> dict[str, Any]:
        if endpoints.userinfo_endpoint is None:
            return {}
        info = await self._get_json(endpoints.userinfo_endpoint, bearer=access_token)
        if not isinstance(info, dict):
            raise ProviderUnavailable("The userinfo answer is not a JSON object.")
        return info

    async def github_user(self, api_url: str, access_token: str) -> dict[str, Any]:
        """GitHub's ``/user`` with the addresses of ``/user/emails`` under ``emails``."""
        base = api_url.rstrip("/")
        accept = "application/vnd.github+json"
        user = await self._get_json(f"{base}/user", bearer=access_token, accept=accept)
        emails = await self._get_json(f"{base}/user/emails", bearer=access_token, accept=accept)
        if not isinstance(user, dict) or not isinstance(emails, list):
            raise ProviderUnavailable("GitHub's user API answered in an unexpected shape.")
        return {**user, "emails": [e for e in emails if isinstance(e, dict)]}

    async def _signing_key(self, jwks_uri: str, kid: Any) -> dict[str, Any]:
        for fresh in (False, True):
            keys = await self._key_set(jwks_uri, fresh=fresh)
            signing = [k for k in keys if k.get("use", "sig") == "sig"]
            if kid is None and len(signing) == 1:
                return signing[0]
            found = next((k for k in signing if kid is not None and k.get("kid") == kid), None)
            if found is not None:
                return found
        raise IdTokenInvalid(f"The ID token is signed with an unknown key (kid {kid!r}).")

    async def _key_set(self, jwks_uri: str, *, fresh: bool) -> list[dict[str, Any]]:
        cached = self._jwks.get(jwks_uri)
        if cached is not None:
            age = time.monotonic() - cached[0]
            if (not fresh and age < CACHE_SECONDS) or (fresh and age < JWKS_REFETCH_SECONDS):
                return cached[1]
        document = await self._get_json(jwks_uri)
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise ProviderUnavailable("The provider's JWKS has no key list.")
        usable = [k for k in keys if isinstance(k, dict)]
        self._jwks[jwks_uri] = (time.monotonic(), usable)
        return usable

    async def _get_json(
        self, url: str, *, bearer: str | None = None, accept: str = "application/json"
    ) -> Any:
        headers = {"Accept": accept}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        response = await self._send("GET", url, headers=headers)
        if response.status_code != 200:
            raise ProviderUnavailable(f"{url} answered HTTP {response.status_code}.")
        document = _json_of(response)
        if document is None:
            raise ProviderUnavailable(f"{url} did not answer JSON.")
        return document

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        content: bytes | None = None,
        auth: tuple[str, str] | None = None,
    ) -> httpx.Response:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
                response = await http.request(
                    method, url, headers=headers, content=content, auth=auth
                )
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(
                f"{url} could not be reached ({type(exc).__name__})."
            ) from None
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise ProviderUnavailable(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes.")
        return response


def _json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _endpoints_of(document: dict[str, Any], issuer: str) -> Endpoints:
    required = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    missing = [name for name in required if not isinstance(document.get(name), str)]
    if missing:
        raise ProviderUnavailable(f"The discovery document lacks {', '.join(missing)}.")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    userinfo = document.get("userinfo_endpoint")
    return Endpoints(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=userinfo if isinstance(userinfo, str) else None,
        token_auth_methods=tuple(str(m) for m in methods),
        id_token_algorithms=tuple(str(a) for a in algorithms),
    )


def _tenant_template_matches(announced: str, issuer: str) -> bool:
    """Microsoft's multi-tenant documents announce ``…/{tenantid}/v2.0`` for ``…/common/v2.0``
    (and ``organizations``, ``consumers``)."""
    if "{tenantid}" not in announced:
        return False
    prefix, _, suffix = announced.partition("{tenantid}")
    tenant = issuer.removeprefix(prefix).removesuffix(suffix)
    return issuer.startswith(prefix) and issuer.endswith(suffix) and "/" not in tenant


def _expected_issuer(issuer: str | None, unverified: dict[str, Any]) -> str | None:
    if issuer is not None and "{tenantid}" in issuer:
        return issuer.replace("{tenantid}", str(unverified.get("tid", "")))
    return issuer


def _check_claims(
    claims: dict[str, Any], issuer: str | None, client_id: str, nonce: str, now: int
) -> None:
    if claims.get("iss") != issuer:
        raise IdTokenInvalid(f"The ID token's issuer {claims.get('iss')!r} is not {issuer!r}.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise IdTokenInvalid("The ID token was issued for another client (aud).")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenInvalid("The ID token names another authorized party (azp).")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or exp + LEEWAY_SECONDS <= now:
        raise IdTokenInvalid("The ID token has expired (exp).")
    if isinstance(iat, int) and iat > now + LEEWAY_SECONDS:
        raise IdTokenInvalid("The ID token was issued in the future (iat).")
    if claims.get("nonce") != nonce:
        raise IdTokenInvalid("The ID token's nonce is not the one this sign-in sent.")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise IdTokenInvalid("The ID token names no subject (sub).")
