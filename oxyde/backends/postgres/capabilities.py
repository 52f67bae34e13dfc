"""What the PostgreSQL backend can do (``oxyde.backends.capabilities``)."""

from __future__ import annotations

from typing import Final

from oxyde.backends.capabilities import Capabilities, declare
from oxyde.sql.dialects.postgres import POSTGRES

CAPABILITIES: Final[Capabilities] = declare(
    POSTGRES,
    # COPY ... FROM STDIN through psycopg's copy protocol (PostgresConnection.copy_insert)
    copy=True,
    # lone statements of concurrent tasks are batched over shared connections
    runs_statements=True,
    # libpq pipeline mode carries execute_many and the batched statements
    pipeline=True,
    savepoints=True,
    # CREATE/ALTER/DROP are transactional: a migration rolls back whole
    transactional_ddl=True,
    # stream() uses a named cursor (DECLARE/FETCH); other statements run between chunks
    server_side_cursor=True,
    skip_locked=True,
    nowait=True,
    # any number of connections write at once
    single_writer=False,
    # reference cycles are dropped with CASCADE; no switch is needed
    foreign_key_suspension=False,
)
