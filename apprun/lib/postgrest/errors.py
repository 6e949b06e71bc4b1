"""The errors the PostgREST request parser raises, each carrying what to answer with."""

from __future__ import annotations


class PostgrestSyntaxError(ValueError):
    """A request the parser refuses; ``code``/``message``/``details``/``hint`` form the body.

    ``status`` is the HTTP status PostgREST answers with for ``code``.
    """

    def __init__(
        self,
        message: str,
        details: str | None = None,
        *,
        code: str = "PGRST100",
        hint: str | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.status = status

    def to_dict(self) -> dict[str, str | None]:
        """The PostgREST error body."""
        return {
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
        }


NEGATIVE_LIMIT = "Limit should be greater than or equal to zero."
LOWER_GT_UPPER = (
    "The lower boundary must be lower than or equal to the upper boundary in the Range header."
)


class RangeNotSatisfiableError(PostgrestSyntaxError):
    """A negative limit or a ``Range`` header whose start exceeds its end (416 PGRST103)."""

    def __init__(self, details: str) -> None:
        super().__init__("Requested range not satisfiable", details, code="PGRST103", status=416)


class NotAcceptableError(PostgrestSyntaxError):
    """No representation matches ``Accept`` (406 PGRST107).

    The message echoes the requested media types, as PostgREST does; ``available`` lists
    what could have been served.
    """

    def __init__(self, requested: tuple[str, ...], available: tuple[str, ...]) -> None:
        super().__init__(
            "None of these media types are available: " + ", ".join(requested),
            code="PGRST107",
            status=406,
        )
        self.requested = requested
        self.available = available


class InvalidPreferencesError(PostgrestSyntaxError):
    """``Prefer: handling=strict`` together with preferences that were not understood."""

    def __init__(self, invalid: tuple[str, ...]) -> None:
        super().__init__(
            "Invalid preferences given with handling=strict",
            "Invalid preferences: " + ", ".join(invalid),
            code="PGRST122",
        )
        self.invalid = invalid
