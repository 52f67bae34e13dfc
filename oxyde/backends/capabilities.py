"""What a backend can do: the ``Capabilities`` record every backend declares once.

The layers above a backend branch on these flags, never on a backend's name and never by
probing its objects for attributes. A true flag promises that the matching optional
operation (a Protocol in ``oxyde.backends.base``) is there and works; the integration
tests hold each backend to every claim against its real server. Every executor the query
layer talks to (database, transaction, ``atomic()`` block, connection) carries the
record of the backend under it as ``capabilities``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oxyde.sql.dialects.base import Dialect

__all__ = ["Capabilities", "declare"]

#: the statements that may take RETURNING
_STATEMENTS = ("insert", "update", "delete")


@dataclass(frozen=True, slots=True)
class Capabilities:
    #: statements ("insert", "update", "delete") that take RETURNING; the others are
    #: followed by a re-read where the caller needs the written row
    returning: frozenset[str]
    #: "on_conflict" (INSERT ... ON CONFLICT) or "on_duplicate_key" (MySQL)
    upsert_style: str
    #: connections offer ``copy_insert`` (``CopyExecutor``): large ``bulk_create``
    #: groups load with COPY instead of multi-row INSERTs
    copy: bool
    #: the backend runs a lone statement outside any transaction itself
    #: (``StatementBackend``) instead of lending a connection for it
    runs_statements: bool
    #: many statements travel in one round trip (libpq pipeline mode)
    pipeline: bool
    #: SAVEPOINT / RELEASE / ROLLBACK TO: nested ``atomic()`` blocks roll back alone
    savepoints: bool
    #: DDL inside a transaction rolls back with it; where False each DDL statement
    #: commits on its own (a failed migration is then recorded as partial)
    transactional_ddl: bool
    #: ``stream()`` reads through a cursor that lets other statements run on the same
    #: connection between chunks; where False the open result holds the connection
    server_side_cursor: bool
    #: SELECT ... FOR UPDATE / FOR SHARE take row locks (SQLite locks the whole file)
    row_locks: bool
    #: FOR UPDATE SKIP LOCKED leaves rows another transaction locked out of the result
    skip_locked: bool
    #: FOR UPDATE NOWAIT fails at once on a row another transaction locked
    nowait: bool
    #: every write goes through one connection (``SingleWriterBackend``): a write that
    #: would wait on another task's open transaction is refused at once
    single_writer: bool
    #: connections offer ``foreign_keys_disabled()`` (``ForeignKeySuspension``), used
    #: to drop tables that reference each other and to rebuild tables in migrations
    foreign_key_suspension: bool


def declare(
    dialect: Dialect,
    *,
    copy: bool,
    runs_statements: bool,
    pipeline: bool,
    savepoints: bool,
    transactional_ddl: bool,
    server_side_cursor: bool,
    skip_locked: bool,
    nowait: bool,
    single_writer: bool,
    foreign_key_suspension: bool,
) -> Capabilities:
    """A backend's record; what the SQL dialect already says (RETURNING, row locks,
    upsert) is read from ``dialect`` so that it is stated in one place."""
    row_locks = dialect.row_locks
    return Capabilities(
        returning=frozenset(s for s in _STATEMENTS if dialect.supports_returning(s)),
        upsert_style=dialect.upsert_style,
        copy=copy,
        runs_statements=runs_statements,
        pipeline=pipeline,
        savepoints=savepoints,
        transactional_ddl=transactional_ddl,
        server_side_cursor=server_side_cursor,
        row_locks=row_locks,
        skip_locked=row_locks and skip_locked,
        nowait=row_locks and nowait,
        single_writer=single_writer,
        foreign_key_suspension=foreign_key_suspension,
    )
