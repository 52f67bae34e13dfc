"""Errors of the migration system."""

from __future__ import annotations

from oxyde.exceptions import OxydeError

__all__ = ["MigrationError", "MigrationLockError"]


class MigrationError(OxydeError):
    """A migration file, the migration history or a migration run is wrong."""


class MigrationLockError(MigrationError):
    """Another process holds the migration lock of the database."""
