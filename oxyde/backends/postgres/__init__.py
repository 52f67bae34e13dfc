"""The PostgreSQL backend on psycopg 3 (C implementation) and psycopg-pool.

``PostgresBackend`` is what ``AsyncDatabase`` opens for ``postgresql://`` and
``postgres://`` URLs; ``PostgresConnection`` is one borrowed connection.
"""

from __future__ import annotations

from oxyde.backends.postgres.connection import PostgresConnection
from oxyde.backends.postgres.pool import PostgresBackend

__all__ = ["PostgresBackend", "PostgresConnection"]
