"""Who a provider says the user is: the subject, the address and whether the provider vouches
for it, and the identity data GoTrue keeps (``identity_data``, copied into ``user_metadata``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apprun.modules.auth.errors import EmailAddressInvalid, ProviderUnavailable
from apprun.modules.auth.validation import normalise_email

MAX_CLAIM_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class Profile:
    subject: str
    email: str | None
    email_verified: bool
    data: dict[str, Any]


def _verified(value: Any) -> bool:
    # Apple sends "true" as a string; everyone else a JSON boolean.
    return value is True or value == "true"


def _address(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return normalise_email(value)
    except EmailAddressInvalid:
        return None


def _text(value: Any) -> str | None:
    return value[:MAX_CLAIM_LENGTH] if isinstance(value, str) and value else None


def _identity_data(subject: str, issuer: str | None, email: str | None, verified: bool,
                   name: str | None, picture: str | None,
                   username: str | None) -> dict[str, Any]:  # fmt: skip
    data = {
        "iss": issuer,
        "sub": subject,
        "provider_id": subject,
        "email": email,
        "email_verified": verified,
        "phone_verified": False,
        "name": name,
        "full_name": name,
        "picture": picture,
        "avatar_url": picture,
        "preferred_username": username,
        "user_name": username,
    }
    return {k: v for k, v in data.items() if v is not None}


def oidc_profile(kind: str, claims: dict[str, Any], apple_user: str | None = None) -> Profile:
    """From verified ID token claims (completed by userinfo where the ID token had no email)."""
    subject = str(claims["sub"])
    email = _address(claims.get("email"))
    verified = email is not None and (
        _verified(claims.get("email_verified"))
        # Microsoft has no email_verified; xms_edov says the domain owner verified the address.
        or (kind == "microsoft" and _verified(claims.get("xms_edov")))
    )
    name = _text(claims.get("name"))
    if name is None and kind == "apple" and apple_user:
        name = _apple_name(apple_user)
    username = _text(claims.get("preferred_username")) or _text(claims.get("nickname"))
    data = _identity_data(subject, _text(claims.get("iss")), email, verified, name,
                          _text(claims.get("picture")), username)  # fmt: skip
    return Profile(subject, email, verified, data)


def _apple_name(posted: str) -> str | None:
    """Apple posts ``user={"name": {"firstName", "lastName"}, …}`` on the first sign-in only."""
    try:
        user = json.loads(posted)
        parts = [user["name"].get("firstName"), user["name"].get("lastName")]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return _text(" ".join(p for p in parts if isinstance(p, str) and p)) or None


def github_profile(user: dict[str, Any], issuer: str) -> Profile:
    """From GitHub's ``/user`` and ``/user/emails``: the primary address, verified or not."""
    if not isinstance(user.get("id"), int | str) or user.get("id") == "":
        raise ProviderUnavailable("GitHub's /user answered without an id.")
    subject = str(user["id"])
    emails = user.get("emails") or []
    primary = next((e for e in emails if e.get("primary")), None) or next(
        (e for e in emails if e.get("verified")), None
    )
    email = _address(primary.get("email")) if primary else _address(user.get("email"))
    verified = email is not None and primary is not None and primary.get("verified") is True
    data = _identity_data(subject, issuer, email, verified, _text(user.get("name")),
                          _text(user.get("avatar_url")), _text(user.get("login")))  # fmt: skip
    return Profile(subject, email, verified, data)
