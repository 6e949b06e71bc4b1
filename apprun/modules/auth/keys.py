"""Each project's token signing keys (ES256 by default, RS256 allowed) and the JWKS.

The newest unretired key signs; every key is published until a week after it was retired (the
longest access-token lifetime apprun allows), so tokens signed before a rotation keep
verifying until they expire. Keys are cached per process; an unknown ``kid`` reloads them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apprun.core.clock import Clock
from apprun.core.db import Database
from apprun.core.ids import new_id
from apprun.lib import jwt
from apprun.lib.crypto import seal, unseal
from apprun.modules.auth import keystore

PUBLISHED_AFTER_RETIREMENT = timedelta(days=7)
CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    public_jwk: dict[str, Any]
    private_pem: str
    retired: bool

    def jwk(self) -> dict[str, Any]:
        return {**self.public_jwk, "kid": self.kid, "alg": self.alg, "use": "sig",
                "key_ops": ["verify"]}  # fmt: skip


class SigningKeys:
    def __init__(self, clock: Clock, seal_key: bytes, alg: str = "ES256") -> None:
        self._clock = clock
        self._seal_key = seal_key
        self._alg = alg
        self._cache: dict[str, tuple[float, list[SigningKey]]] = {}

    async def keys(self, db: Database, project: str, *, fresh: bool = False) -> list[SigningKey]:
        """The published keys, newest first (creating the first one when there is none)."""
        cached = self._cache.get(project)
        if cached is not None and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        async with db.read() as conn:
            rows = await keystore.select_keys(conn)
        if not any(row["retired_at"] is None for row in rows):
            await self.rotate(db, project)
            async with db.read() as conn:
                rows = await keystore.select_keys(conn)
        cutoff = self._clock.now() - PUBLISHED_AFTER_RETIREMENT
        keys = [
            SigningKey(
                row["kid"],
                row["alg"],
                json.loads(row["public_jwk"]),
                unseal(
                    self._seal_key, row["private_key"], f"{project}/{row['kid']}".encode()
                ).decode(),
                row["retired_at"] is not None,
            )
            for row in rows
            if row["retired_at"] is None or row["retired_at"] > cutoff
        ]
        self._cache[project] = (time.monotonic(), keys)
        return keys

    async def rotate(self, db: Database, project: str, alg: str | None = None) -> SigningKey:
        """Retire the signing key(s) and start signing with a new one."""
        alg = alg or self._alg
        private_pem, public_jwk = jwt.generate_signing_key(alg)
        kid = new_id()
        now = self._clock.now()
        async with db.tx() as conn:
            await keystore.retire_keys(conn, now)
            await keystore.delete_keys_retired_before(conn, now - PUBLISHED_AFTER_RETIREMENT)
            await keystore.insert_key(
                conn,
                {
                    "kid": kid,
                    "alg": alg,
                    "private_key": seal(
                        self._seal_key, private_pem.encode(), f"{project}/{kid}".encode()
                    ),
                    "public_jwk": json.dumps(public_jwk),
                    "created_at": now,
                },
            )
        self._cache.pop(project, None)
        return SigningKey(kid, alg, public_jwk, private_pem, retired=False)

    async def sign(self, db: Database, project: str, claims: dict[str, Any]) -> str:
        key = next(k for k in await self.keys(db, project) if not k.retired)
        return jwt.encode_asymmetric(claims, key.private_pem, key.alg, key.kid)

    async def verify(self, db: Database, project: str, token: str, now: int) -> dict[str, Any]:
        """Signature by one of the project's published keys, and ``exp``; else TokenInvalid."""
        header, _ = jwt.peek(token)
        kid, alg = header.get("kid"), header.get("alg")
        if alg not in jwt.ASYMMETRIC_ALGORITHMS or not isinstance(kid, str):
            raise jwt.TokenInvalid("not an access token of this project")
        key = await self._find(db, project, kid)
        if key is None or key.alg != alg:
            raise jwt.TokenInvalid("unknown signing key")
        return jwt.decode_asymmetric(token, key.public_jwk, alg, now)

    async def _find(self, db: Database, project: str, kid: str) -> SigningKey | None:
        for fresh in (False, True):
            for key in await self.keys(db, project, fresh=fresh):
                if key.kid == kid:
                    return key
        return None

    async def jwks(self, db: Database, project: str) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in await self.keys(db, project)]}
