"""What the SQLite backend can do (``oxyde.backends.capabilities``)."""

from __future__ import annotations

from typing import Final

from oxyde.backends.capabilities import Capabilities, declare
from oxyde.sql.dialects.sqlite import SQLITE

CAPABILITIES: Final[Capabilities] = declare(
    SQLITE,
    # SQLite has no COPY; executemany in one transaction is its bulk path
    copy=False,
    # lone statements take an idle connection without a lease and mostly run on the loop
    runs_statements=True,
    # no network round trips to save
    pipeline=False,
    savepoints=True,
    # DDL is ordinary writes to sqlite_schema: it rolls back with the transaction
    transactional_ddl=True,
    # a stepped statement; the same connection runs others between chunks
    server_side_cursor=True,
    # FOR UPDATE is a no-op (row_locks False in the dialect): the writer lock is the lock
    skip_locked=False,
    nowait=False,
    # one writer connection (BEGIN IMMEDIATE); readers only under WAL
    single_writer=True,
    # PRAGMA foreign_keys=OFF outside a transaction (SQLiteConnection.foreign_keys_disabled)
    foreign_key_suspension=True,
)
