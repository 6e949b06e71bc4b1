"""Hooks the platform emits (payloads are frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

PROJECT_CREATED = "platform.project.created"
PROJECT_UPDATED = "platform.project.updated"
PROJECT_DELETED = "platform.project.deleted"
KEYS_ROTATED = "platform.keys.rotated"
ADMIN_CREATED = "platform.admin.created"
ADMIN_SIGNED_IN = "platform.admin.signed_in"
SETTINGS_UPDATED = "platform.settings.updated"


@dataclass(frozen=True, slots=True)
class ProjectChanged:
    project: str


@dataclass(frozen=True, slots=True)
class KeysRotated:
    project: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AdminEvent:
    admin_id: str
    email: str
