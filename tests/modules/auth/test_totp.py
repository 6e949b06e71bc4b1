"""apprun's TOTP against RFC 6238's test vectors and against oathtool."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pyotp
import pytest

from apprun.modules.auth import totp
from tests.modules.auth.mfa_support import oathtool

RFC_SECRET = b"12345678901234567890"  # RFC 6238 Appendix B, SHA-1
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
B32_SECRET = base64.b32encode(RFC_SECRET).decode()


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(("seconds", "expected"), RFC_VECTORS)
def test_rfc6238_vectors(seconds: int, expected: str) -> None:
    step = totp.step_at(at(seconds))
    assert totp.code_at(B32_SECRET, step, digits=8) == expected
    assert pyotp.TOTP(B32_SECRET, digits=8).at(seconds) == expected
    # oathtool, from the raw key in hex, as the RFC gives it
    assert oathtool(RFC_SECRET.hex(), seconds, digits=8, base32=False) == expected


@pytest.mark.parametrize(("seconds", "_"), RFC_VECTORS)
def test_six_digit_codes_match_oathtool(seconds: int, _: str) -> None:
    secret = totp.new_secret()
    assert totp.code_at(secret, totp.step_at(at(seconds))) == oathtool(secret, seconds)


def test_window_is_one_step_either_way() -> None:
    secret = totp.new_secret()
    now = 1_700_000_015
    step = now // 30
    for offset in (-1, 0, 1):
        code = oathtool(secret, (step + offset) * 30)
        assert totp.matching_step(secret, code, at(now), None) == step + offset
    for offset in (-2, 2):
        code = oathtool(secret, (step + offset) * 30)
        assert totp.matching_step(secret, code, at(now), None) is None


def test_used_steps_are_refused() -> None:
    secret = totp.new_secret()
    now = 1_700_000_015
    step = now // 30
    current = oathtool(secret, now)
    assert totp.matching_step(secret, current, at(now), step) is None
    assert totp.matching_step(secret, current, at(now), step - 1) == step
    assert totp.matching_step(secret, oathtool(secret, (step + 1) * 30), at(now), step) == step + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", " 12345"])
def test_malformed_codes_never_match(code: str) -> None:
    assert totp.matching_step(totp.new_secret(), code, at(1_700_000_000), None) is None


def test_uri_and_qr_code() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "My App", "ada@example.com")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.secret, parsed.issuer, parsed.name) == (secret, "My App", "ada@example.com")
    assert uri.startswith("otpauth://totp/My%20App:ada%40example.com?secret=")
    svg = totp.qr_svg(uri)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "#" not in svg  # clients put it in an unencoded data: URL
