"""Errors of the data module. ``postgrest_code`` is what ``/rest/v1`` answers as ``code``."""

from __future__ import annotations

from typing import ClassVar

from apprun.core.errors import BadRequest, Conflict, Forbidden, NotFound


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


class PolicyDenied(Forbidden):
    code = "data.policy_denied"
    message = "The collection's policy does not allow this."
    postgrest_code: ClassVar[str] = "42501"
