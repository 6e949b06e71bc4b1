"""The one error hierarchy of apprun.

Every failure a client may see is an ``AppError`` subclass with an HTTP status and a stable,
namespaced ``code``. Services raise them; one renderer (``apprun.http.errors``) turns them into
responses. ``docs/errors.md`` is generated from the classes registered here.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every error that reaches a client with a stable code."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "server.internal_error"
    message: ClassVar[str] = "An unexpected error occurred."
    registry: ClassVar[dict[str, type[AppError]]] = {}

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail_message = message or self.message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.detail_message)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            existing = AppError.registry.get(cls.code)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise TypeError(f"error code {cls.code!r} is used by {existing} and {cls}")
            AppError.registry[cls.code] = cls


AppError.registry[AppError.code] = AppError


# Generic kinds: modules subclass these and give them their own codes.
class BadRequest(AppError):
    status = 400
    code = "request.bad_request"
    message = "The request is not valid."


class InvalidCharacters(BadRequest):
    code = "request.invalid_characters"
    message = "The URL holds a NUL character, which no path or parameter may contain."


class InvalidJson(BadRequest):
    code = "request.invalid_json"
    message = "The request body is not valid JSON."


class ValidationFailed(AppError):
    status = 422
    code = "request.validation_failed"
    message = "Some fields are missing or invalid."


class Unauthorized(AppError):
    status = 401
    code = "auth.unauthorized"
    message = "Authentication is required."


class Forbidden(AppError):
    status = 403
    code = "auth.forbidden"
    message = "You are not allowed to do this."


class NotFound(AppError):
    status = 404
    code = "request.not_found"
    message = "The resource was not found."


class MethodNotAllowed(AppError):
    status = 405
    code = "request.method_not_allowed"
    message = "This method is not allowed on this resource."


class Conflict(AppError):
    status = 409
    code = "request.conflict"
    message = "The request conflicts with the current state."


class PayloadTooLarge(AppError):
    status = 413
    code = "request.body_too_large"
    message = "The request body is too large."


class RateLimited(AppError):
    status = 429
    code = "request.rate_limited"
    message = "Too many requests; retry later."


# Errors of the kernel itself.
class InvalidApiKey(Unauthorized):
    code = "auth.invalid_api_key"
    message = (
        "The API key is not valid: it is malformed, forged, rotated or for an unknown project."
    )


class ExpiredApiKey(Unauthorized):
    code = "auth.expired_token"
    message = "The token has expired."


class InvalidToken(Unauthorized):
    code = "auth.invalid_token"
    message = "The bearer token is not valid."


class ProjectMismatch(Unauthorized):
    code = "auth.project_mismatch"
    message = "The API key belongs to another project than the one the request names."


class ActionNotFound(NotFound):
    code = "actions.not_found"
    message = "No action has this name."


class ActionInputInvalid(ValidationFailed):
    code = "actions.invalid_input"
    message = "The action's input does not match its schema."
