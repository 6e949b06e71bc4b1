"""Errors of the platform module (projects, keys, admins, audit)."""

from __future__ import annotations

from apprun.core.errors import BadRequest, Conflict, NotFound, Unauthorized


class ProjectNotFound(NotFound):
    code = "platform.project_not_found"
    message = "No project has this id."


class ProjectExists(Conflict):
    code = "platform.project_exists"
    message = "A project with this id already exists."


class ProjectProtected(Conflict):
    code = "platform.project_protected"
    message = "The default project cannot be deleted."


class ConfirmationRequired(BadRequest):
    code = "platform.confirmation_required"
    message = "This deletes data; repeat the request with confirm=true."


class InvalidCredentials(Unauthorized):
    code = "platform.invalid_credentials"
    message = "The email or password is wrong."


class AdminExists(Conflict):
    code = "platform.admin_exists"
    message = "An administrator with this email already exists."
