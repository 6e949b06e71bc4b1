"""The auth emails' templates: Jinja2, an autoescaped HTML part and a plain-text part, in
English and Simplified Chinese, overridable per project (subject, HTML, text per kind and
locale, stored in the auth configuration).

Every template, built-in or a project's, renders in Jinja's sandbox: a project's templates
are data from its administrators and must not reach Python internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from apprun.lib.locale import negotiate

log = logging.getLogger("apprun.auth.mail")

KINDS = ("confirmation", "invite", "magic_link", "recovery", "email_change", "reauthentication")
"""The mails the auth module sends (GoTrue's template names)."""
BUILTIN_LOCALES = ("en", "zh-CN")
DEFAULT_LOCALE = "en"
PARTS = ("subject", "html", "text")
TEMPLATE_DIR = Path(__file__).parent / "templates" / "email"
VARIABLES = (
    "confirmation_url", "token", "token_hash", "site_url", "email", "new_email", "redirect_to",
    "data",
)  # fmt: skip
"""What a template may use (documented in docs/auth/email.md)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def _environment(html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=256)
def _compiled(source: str, html: bool) -> Template:
    return _environment(html).from_string(source)


def check(source: str, part: str) -> None:
    """Raise ValueError when a project's template does not compile."""
    try:
        _compiled(source, part == "html")
    except TemplateError as exc:
        raise ValueError(f"{part} template: {exc}") from None


def choose_locale(user_locale: str | None, available: list[str]) -> str:
    """The user's locale among those that have templates (``zh`` finds ``zh-CN``), else en."""
    return negotiate(user_locale, available, DEFAULT_LOCALE) if user_locale else DEFAULT_LOCALE


def render(
    kind: str,
    user_locale: str | None,
    variables: Mapping[str, Any],
    overrides: Mapping[str, Mapping[str, str | None]] | None = None,
) -> Rendered:
    """The mail of ``kind`` in the user's locale. ``overrides`` maps locale → part → source;
    a part a project did not override comes from the built-in template of that locale (or
    English, for a locale apprun does not ship)."""
    overrides = overrides or {}
    locale = choose_locale(user_locale, sorted({*BUILTIN_LOCALES, *overrides}))
    builtin = locale if locale in BUILTIN_LOCALES else DEFAULT_LOCALE
    custom = overrides.get(locale) or {}
    context = {**variables, "locale": locale}
    parts: dict[str, str] = {}
    for part in PARTS:
        builtin_name = f"{builtin}/{kind}.{_suffix(part)}"
        parts[part] = _render_part(custom.get(part), builtin_name, part == "html", context)
    # A header holds one line: a template's newlines must not start new headers.
    subject = " ".join(parts["subject"].split())
    return Rendered(subject=subject, text=parts["text"], html=parts["html"])


def _render_part(
    source: str | None, builtin_name: str, html: bool, context: Mapping[str, Any]
) -> str:
    if source:
        try:
            return _compiled(source, html).render(context)
        except Exception as exc:  # a project's template must not fail the request
            # It compiled when it was saved; it can still fail on this user's data (or touch
            # what the sandbox forbids). The built-in part is sent instead.
            log.warning("a custom email template failed (%s); the built-in one is used", exc)
    return _environment(html).get_template(builtin_name).render(context)


def _suffix(part: str) -> str:
    return {"subject": "subject.txt", "html": "html", "text": "txt"}[part]
