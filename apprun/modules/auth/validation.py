"""Checks of the values end users send: addresses, PKCE pairs, redirect URLs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from apprun.modules.auth.errors import EmailAddressInvalid, ValidationFailed

PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def normalise_email(email: str) -> str:
    """The address as stored: validated, domain lowercased, then the whole lowercased (as
    GoTrue does, so that sign-in is case-insensitive)."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise EmailAddressInvalid(
            f"Unable to validate email address: {exc}", details={"field": "email"}
        ) from None
    return result.normalized.lower()


def pkce_pair(challenge: str | None, method: str | None) -> tuple[str, str] | None:
    """None for the implicit flow; (challenge, 's256'|'plain') for PKCE; both or neither."""
    if challenge is None and method is None:
        return None
    if challenge is None or method is None:
        raise ValidationFailed(
            "PKCE flow requires code_challenge_method and code_challenge",
            details={"field": "code_challenge"},
        )
    method = method.lower()
    if method not in ("s256", "plain"):
        raise ValidationFailed(
            "code_challenge_method must be s256 or plain",
            details={"field": "code_challenge_method"},
        )
    if not PKCE_CHALLENGE.fullmatch(challenge):
        raise ValidationFailed(
            "code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-]",
            details={"field": "code_challenge"},
        )
    return challenge, method


def safe_redirect(redirect_to: str | None, site_url: str | None, allow_list: list[str]) -> str:
    """``redirect_to`` when the site URL's origin (any port on localhost) or the allow-list
    permits it, else the site URL — silently, as GoTrue does."""
    fallback = site_url or ""
    if not redirect_to:
        return fallback
    try:
        target = urlsplit(redirect_to)
    except ValueError:
        return fallback
    if target.scheme not in ("http", "https") and not allow_list:
        return fallback
    if site_url:
        site = urlsplit(site_url)
        local = {"localhost", "127.0.0.1", "::1"}
        same_host = target.hostname == site.hostname and target.scheme == site.scheme
        if same_host and (target.port == site.port or target.hostname in local):
            return redirect_to
    for pattern in allow_list:
        if _glob(pattern, redirect_to):
            return redirect_to
    return fallback


def _glob(pattern: str, url: str) -> bool:
    # "**" crosses path separators, "*" does not (GoTrue's gobwas/glob semantics with '.' '/').
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/.]*")
    return re.fullmatch(regex, url) is not None
