"""Base class for the input models of every module."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class Strict(BaseModel):
    """Input models: unknown fields are errors, and no text may hold a NUL character
    (PostgreSQL cannot store one, and no legitimate input needs it)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """A pydantic error as the ``{field, reason}`` list every error body uses."""
    return [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
