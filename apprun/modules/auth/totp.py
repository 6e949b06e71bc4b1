"""TOTP (RFC 6238) as authenticator apps speak it: SHA-1, 6 digits, 30-second steps, the
``otpauth://`` URI and its QR code. Time is always passed in, so that the caller's clock rules.
"""

from __future__ import annotations

import hmac
import io
from datetime import datetime

import pyotp
import segno

PERIOD = 30
DIGITS = 6
WINDOW = 1
"""Steps accepted on either side of the current one (clock drift, a code typed late)."""


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226 recommends 160; GoTrue sends 32 characters)."""
    return pyotp.random_base32()


def step_at(at: datetime) -> int:
    """The RFC 6238 time step ``T`` of an instant."""
    return int(at.timestamp()) // PERIOD


def code_at(secret: str, step: int, digits: int = DIGITS) -> str:
    return pyotp.TOTP(secret, digits=digits, interval=PERIOD).generate_otp(step)


def matching_step(secret: str, code: str, at: datetime, last_used: int | None) -> int | None:
    """The step whose code ``code`` is, within ``WINDOW`` steps of ``at`` and after
    ``last_used`` (a code is good once: RFC 6238 §5.2); None if there is none."""
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = step_at(at)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if last_used is not None and step <= last_used:
            continue
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, issuer: str, account: str) -> str:
    """``otpauth://totp/<issuer>:<account>?secret=…&issuer=…`` (Google Authenticator's format)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The URI as a QR code in SVG, raw: clients prepend ``data:image/svg+xml;utf-8,``."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, nl=False, scale=4, dark="black", light="white"
    )
    # segno writes colours as "#000"/"#fff"; in an unencoded data: URL a "#" starts the
    # fragment and the browser would cut the image there, so name the colours instead.
    return (
        out.getvalue()
        .decode()
        .replace('stroke="#000"', 'stroke="black"')
        .replace('fill="#fff"', 'fill="white"')
    )
