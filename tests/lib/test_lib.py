"""lib: token bucket arithmetic, Accept-Language negotiation, sealing, JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from apprun.lib import jwt
from apprun.lib.crypto import derive_key, seal, unseal
from apprun.lib.locale import negotiate, parse_accept_language
from apprun.lib.passwords import hash_password, verify_password
from apprun.lib.tokenbucket import take


def test_bucket_starts_full_and_refills() -> None:
    tokens, first = take(None, None, 0.0, rate=1.0, burst=2)
    assert first.allowed and first.remaining == 1
    tokens, second = take(tokens, 0.0, 0.0, rate=1.0, burst=2)
    assert second.allowed and second.remaining == 0
    tokens, third = take(tokens, 0.0, 0.0, rate=1.0, burst=2)
    assert not third.allowed
    assert third.retry_after == pytest.approx(1.0)
    _, later = take(tokens, 0.0, 1.5, rate=1.0, burst=2)
    assert later.allowed


@given(
    st.lists(st.floats(min_value=0, max_value=10), min_size=1, max_size=50),
    st.floats(min_value=0.1, max_value=100),
    st.integers(min_value=1, max_value=50),
)
def test_bucket_never_allows_more_than_burst_plus_refill(
    gaps: list[float], rate: float, burst: int
) -> None:
    tokens, last, now, allowed = None, None, 0.0, 0
    for gap in gaps:
        now += gap
        tokens, decision = take(tokens, last, now, rate, burst)
        last = now
        allowed += decision.allowed
        assert 0 <= decision.remaining <= burst
    assert allowed <= burst + now * rate + 1e-6


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9", "zh-CN"),
        ("en-GB", "en"),
        ("fr;q=1, zh;q=0.5", "zh-CN"),
        ("de", "en"),
        ("*", "en"),
        (None, "en"),
        ("zh;q=abc, en", "en"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header, ["en", "zh-CN"], "en") == expected


def test_parse_accept_language_orders_by_weight() -> None:
    assert parse_accept_language("a;q=0.1, b, c;q=0.5") == [("b", 1.0), ("c", 0.5), ("a", 0.1)]


def test_seal_round_trip_and_tamper() -> None:
    key = derive_key("master-secret", "purpose-a")
    assert key != derive_key("master-secret", "purpose-b")
    sealed = seal(key, b"payload", b"ctx")
    assert unseal(key, sealed, b"ctx") == b"payload"
    with pytest.raises(InvalidTag):
        unseal(key, sealed, b"other-ctx")


def test_jwt_is_standard_hs256() -> None:
    key = b"k" * 32
    token = jwt.encode_hs256({"sub": "x", "exp": 2000}, key, kid="kid-1")
    header_b64, payload_b64, signature_b64 = token.split(".")
    # Checked with the standard library only, independently of joserfc.
    expected = hmac.new(key, f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature_b64 + "==") == expected
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    assert header == {"alg": "HS256", "typ": "JWT", "kid": "kid-1"}
    assert jwt.decode_hs256(token, key, now=1000)["sub"] == "x"
    with pytest.raises(jwt.TokenExpired):
        jwt.decode_hs256(token, key, now=2000)
    with pytest.raises(jwt.TokenInvalid):
        jwt.decode_hs256(token, b"z" * 32, now=1000)
    with pytest.raises(jwt.TokenInvalid):
        jwt.decode_hs256(token, key, now=1000, sub="y")


def test_jwt_refuses_alg_none() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b'{"exp":99999999999}').rstrip(b"=").decode()
    with pytest.raises(jwt.TokenInvalid):
        jwt.decode_hs256(f"{header}.{payload}.", b"k" * 32, now=0)


def test_passwords_are_argon2id() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "Correct horse")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "x")
