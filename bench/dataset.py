"""The data set both servers get: rows generated from a fixed seed."""

from __future__ import annotations

import random
import string
from typing import Any

SEED = 8
ROWS = 10_000
OWNED_ROWS = 1_000
_ALPHABET = string.ascii_letters + string.digits + "     "


def _text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(length))


def posts(count: int = ROWS, seed: int = SEED) -> list[dict[str, Any]]:
    """`count` posts: title 40 chars, body 256, views 0-999 with exactly half above 500."""
    rng = random.Random(seed)
    half = count // 2
    views = [rng.randint(501, 999) for _ in range(half)]
    views += [rng.randint(0, 500) for _ in range(count - half)]
    rng.shuffle(views)
    return [
        {
            "title": _text(rng, 40),
            "body": _text(rng, 256),
            "views": v,
            "published": rng.random() < 0.5,
        }
        for v in views
    ]


def create_body() -> dict[str, Any]:
    """The row the create scenario posts (about 350 bytes of JSON)."""
    rng = random.Random(SEED + 1)
    return {"title": _text(rng, 40), "body": _text(rng, 256), "views": 42, "published": True}
