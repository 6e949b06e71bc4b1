"""Small cryptographic helpers: key derivation, sealed secrets, constant-time hashing."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    """A key for one ``purpose``, derived from the master secret with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


def seal(key: bytes, plaintext: bytes, associated: bytes = b"") -> str:
    """Encrypt and authenticate ``plaintext`` (AES-256-GCM); the result is URL-safe text."""
    nonce = os.urandom(12)
    return base64.urlsafe_b64encode(
        nonce + AESGCM(key).encrypt(nonce, plaintext, associated)
    ).decode()


def unseal(key: bytes, sealed: str, associated: bytes = b"") -> bytes:
    """Reverse ``seal``; raises ``cryptography.exceptions.InvalidTag`` if it was altered."""
    raw = base64.urlsafe_b64decode(sealed.encode())
    return AESGCM(key).decrypt(raw[:12], raw[12:], associated)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
