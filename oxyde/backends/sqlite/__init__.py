"""The SQLite backend on apsw: a writer and parallel readers, each on its own thread.

``SQLiteBackend`` is what ``AsyncDatabase`` opens for ``sqlite://`` URLs;
``SQLiteConnection`` is one borrowed connection.
"""

from __future__ import annotations

from oxyde.backends.sqlite.backend import SQLiteBackend
from oxyde.backends.sqlite.connection import SQLiteConnection

__all__ = ["SQLiteBackend", "SQLiteConnection"]
