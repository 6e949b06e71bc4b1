"""Checks of the values end users send: addresses, PKCE pairs, redirect URLs."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

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


HOST = re.compile(r"^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::[0-9]+)?$")
"""A host (and port) as browsers read it: DNS labels or a bracketed IPv6 address, nothing
percent-encoded, no user info."""


def safe_redirect(redirect_to: str | None, site_url: str | None, allow_list: list[str]) -> str:
    """``redirect_to`` when the site URL's origin (any port on localhost) or the allow-list
    permits it, else the site URL — silently, as GoTrue does. A URL whose host is not plain
    (percent-encoded, with user info or backslashes) is never allowed: a browser would go to
    another host than the one that was checked."""
    fallback = site_url or ""
    if not redirect_to:
        return fallback
    try:
        target = urlsplit(redirect_to)
        hostname = target.hostname or ""
        target.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return fallback
    web = target.scheme in ("http", "https")
    plain = HOST.fullmatch(target.netloc.lower()) is not None or (not web and not target.netloc)
    if not plain or "\\" in redirect_to:
        return fallback
    if site_url and web:
        site = urlsplit(site_url)
        local = {"localhost", "127.0.0.1", "::1"}
        same_host = hostname == site.hostname and target.scheme == site.scheme
        if same_host and (target.port == site.port or hostname in local):
            return redirect_to
    if any(_allowed(pattern, target) for pattern in allow_list):
        return redirect_to
    return fallback


def _allowed(pattern: str, target: SplitResult) -> bool:
    """GoTrue's allow-list globs, matched part by part: in the scheme and host ``*`` and
    ``**`` stay inside the host; in the path ``*`` stays in a segment and ``**`` crosses them."""
    scheme, sep, rest = pattern.partition("://")
    if not sep:  # "myapp:*" and the like: custom schemes of mobile apps
        return re.fullmatch(_regex(pattern, "[^/]*", ".*"), target.geturl()) is not None
    host, slash, path = rest.partition("/")
    if not slash and host.endswith("**"):  # "myapp://**": any host, then anything
        slash, path = "", "**"
    remainder = target.path + (f"?{target.query}" if target.query else "")
    remainder += f"#{target.fragment}" if target.fragment else ""
    return (
        re.fullmatch(_regex(scheme, "[a-z0-9+.-]*", "[a-z0-9+.-]*"), target.scheme) is not None
        and re.fullmatch(_regex(host, "[^.:/?#@]*", "[^/?#@]*"), target.netloc.lower()) is not None
        and re.fullmatch(_regex(slash + path, "[^/]*", ".*"), remainder) is not None
    )


def _regex(glob: str, star: str, double_star: str) -> str:
    return re.escape(glob).replace(r"\*\*", "\0").replace(r"\*", star).replace("\0", double_star)
