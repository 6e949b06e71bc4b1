"""HS256 JSON Web Tokens on top of joserfc, with the checks apprun needs in one place."""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, RSAKey


class TokenInvalid(Exception):
    """Malformed, wrongly signed, or with claims that do not hold."""


class TokenExpired(TokenInvalid):
    pass


def encode_hs256(claims: dict[str, Any], key: bytes, kid: str | None = None) -> str:
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return jwt.encode(header, claims, OctKey.import_key(key))


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims *without* verifying the signature: only to choose the key."""
    try:
        header_b64, claims_b64, _ = token.split(".")
        header = json.loads(_b64decode(header_b64))
        claims = json.loads(_b64decode(claims_b64))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenInvalid("not a JWT") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenInvalid("not a JWT")
    return header, claims


def decode_hs256(token: str, key: bytes, now: int, **expected: Any) -> dict[str, Any]:
    """Verify signature, ``exp`` (required), ``nbf``, and every claim given in ``expected``."""
    try:
        decoded = jwt.decode(token, OctKey.import_key(key), algorithms=["HS256"])
    except (JoseError, ValueError) as exc:
        raise TokenInvalid(str(exc)) from exc
    claims = _unexpired(dict(decoded.claims), now)
    nbf = claims.get("nbf")
    if isinstance(nbf, int) and nbf > now + 30:
        raise TokenInvalid("token not yet valid")
    for name, value in expected.items():
        if claims.get(name) != value:
            raise TokenInvalid(f"claim {name} does not match")
    return claims


def _unexpired(claims: dict[str, Any], now: int) -> dict[str, Any]:
    exp = claims.get("exp")
    if not isinstance(exp, int):
        raise TokenInvalid("exp is missing")
    if exp <= now:
        raise TokenExpired("token expired")
    return claims


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


ASYMMETRIC_ALGORITHMS = ("ES256", "RS256")


def generate_signing_key(alg: str = "ES256") -> tuple[str, dict[str, Any]]:
    """A new private key as PEM text, with its public JWK (kty, crv/x/y or n/e)."""
    key: ECKey | RSAKey
    if alg == "ES256":
        key = ECKey.generate_key("P-256", private=True)
    elif alg == "RS256":
        key = RSAKey.generate_key(2048, private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    return key.as_pem(private=True).decode(), dict(key.as_dict(private=False))


def encode_asymmetric(claims: dict[str, Any], private_pem: str, alg: str, kid: str) -> str:
    key = ECKey.import_key(private_pem) if alg == "ES256" else RSAKey.import_key(private_pem)
    return jwt.encode({"alg": alg, "typ": "JWT", "kid": kid}, claims, key)


def decode_asymmetric(token: str, public_jwk: dict[str, Any], alg: str, now: int) -> dict[str, Any]:
    """Verify an ES256/RS256 token with one public JWK, and its ``exp`` (required)."""
    try:
        key = ECKey.import_key(public_jwk) if alg == "ES256" else RSAKey.import_key(public_jwk)
        decoded = jwt.decode(token, key, algorithms=[alg])
    except (JoseError, ValueError, TypeError) as exc:
        raise TokenInvalid(str(exc)) from exc
    return _unexpired(dict(decoded.claims), now)
