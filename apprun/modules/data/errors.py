"""Errors of the data module. ``postgrest_code`` is what ``/rest/v1`` answers as ``code``."""

from __future__ import annotations

from typing import ClassVar

from apprun.core.errors import AppError, BadRequest, Conflict, NotFound


class CollectionNotFound(NotFound):
    code = "data.collection_not_found"
    message = "No collection has this name."
    postgrest_code: ClassVar[str] = "PGRST205"


class CollectionExists(Conflict):
    code = "data.collection_exists"
    message = "A collection with this name already exists."


class InvalidSchema(BadRequest):
    code = "data.invalid_schema"
    message = "The collection definition is not valid."


class DestructiveChange(BadRequest):
    code = "data.confirmation_required"
    message = 'This change drops data; repeat it with "confirm": true.'


class CollectionInUse(Conflict):
    code = "data.collection_in_use"
    message = "Other collections have relations to this one; change or drop those first."


class MigrationFailed(BadRequest):
    code = "data.migration_failed"
    message = "The database refused the change; nothing was applied."


class InvalidRule(BadRequest):
    code = "data.invalid_rule"
    message = "A policy is not a valid rule."


class RestError(AppError):
    """An error of ``/rest/v1``, answered in PostgREST's shape ``{code, message, details,
    hint}`` with ``postgrest_code`` as its code (a SQLSTATE like ``23505`` or ``PGRSTnnn``)."""

    status = 400
    code = "data.rest_error"
    message = "The request cannot be served."
    postgrest_code: ClassVar[str] = "PGRST100"

    def __init__(
        self,
        message: str,
        *,
        pg_code: str | None = None,
        details: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, details={"details": details, "hint": hint})
        self.pg_code = pg_code or self.postgrest_code
        self.pg_details = details
        self.hint = hint


class RestBadRequest(RestError):
    code = "data.rest_bad_request"
    message = "The request is not valid for this collection."


class RestNotFound(RestError):
    status = 404
    code = "data.rest_not_found"
    message = "Not found."
    postgrest_code = "PGRST202"


class RestConflict(RestError):
    status = 409
    code = "data.rest_conflict"
    message = "The write conflicts with a unique key or a relation."
    postgrest_code = "23505"


class RestNotAcceptable(RestError):
    status = 406
    code = "data.rest_not_acceptable"
    message = "The result cannot be given in the requested form."
    postgrest_code = "PGRST116"


class RestRangeNotSatisfiable(RestError):
    status = 416
    code = "data.rest_range_not_satisfiable"
    message = "Requested range not satisfiable."
    postgrest_code = "PGRST103"


class RestUnauthorized(RestError):
    status = 401
    code = "data.rest_permission_denied_anonymous"
    message = "Permission denied."
    postgrest_code = "42501"


class RestForbidden(RestError):
    status = 403
    code = "data.rest_permission_denied"
    message = "Permission denied."
    postgrest_code = "42501"


class RoleNotFound(NotFound):
    code = "data.role_not_found"
    message = "No role has this name."


class RoleExists(Conflict):
    code = "data.role_exists"
    message = "A role with this name already exists."


class RoleBuiltin(Conflict):
    code = "data.role_builtin"
    message = "Built-in roles (anon, authenticated, service_role) cannot be deleted."
