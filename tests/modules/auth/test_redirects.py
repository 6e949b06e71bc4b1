"""``redirect_to`` checks: the site's origin (any port on localhost), the allow-list's globs
matched part by part, and never a URL a browser would read as another host."""

from __future__ import annotations

import pytest

from apprun.modules.auth.validation import safe_redirect

SITE = "http://localhost:3000"
ALLOW = ["https://*.example.com/**", "myapp://**", "https://exact.example.org/cb"]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://localhost:3000/welcome?next=/x", True),
        ("http://localhost:5173/dev", True),  # any port on localhost
        ("https://app.example.com/auth/cb?next=/x#top", True),
        ("https://exact.example.org/cb", True),
        ("https://exact.example.org/other", False),
        ("myapp://callback/path", True),
        ("https://a.b.example.com/x", False),  # "*" stays in one label
        ("https://evil.com?.example.com/", False),  # "*" never reaches a query
        ("https://evil%2Ecom?.example.com/", False),  # a percent-encoded host
        ("https://evil.com/.example.com", False),
        ("https://user@app.example.com/", False),  # user info
        ("https://app.example.com\\@evil.com/", False),  # backslash
        ("https://example.com.evil.com/", False),
        ("javascript:alert(1)", False),
        ("http://localhost:notaport/", False),
        ("", False),
    ],
)
def test_safe_redirect(url: str, allowed: bool) -> None:
    assert safe_redirect(url, SITE, ALLOW) == (url if allowed else SITE)
