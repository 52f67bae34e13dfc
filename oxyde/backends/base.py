"""The contract between the query layer and a backend: what an executor can do.

The query layer never sees a driver. It compiles a statement for ``executor.dialect``
and hands SQL text plus bound parameters (already adapted by the dialect) to one of the
methods below. Three things implement ``Executor``: a connected ``AsyncDatabase`` (each
call borrows a pooled connection), a transaction opened by ``atomic()`` (every call runs
on its pinned connection), and a backend connection itself.

Every method maps driver errors onto ``oxyde.exceptions`` before they escape
and leaves the connection usable or discards it: none leaks, and only an idle one
goes back to the pool.

What goes beyond these Protocols is optional and announced, never probed for: each
executor and backend carries a ``Capabilities`` record
(``oxyde.backends.capabilities``), and a true flag there promises the Protocol below
that names it (``CopyExecutor``, ``ForeignKeySuspension``, ``StatementBackend``,
``SingleWriterBackend``). Callers test the flag, through the ``TypeGuard`` functions
at the end of this module, then call through the Protocol.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeGuard, runtime_checkable

from oxyde.backends.capabilities import Capabilities
from oxyde.sql.dialects.base import Dialect

Row = tuple[Any, ...]


@runtime_checkable
class Executor(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    @property
    def capabilities(self) -> Capabilities:
        """What the backend under this executor can do (fixed once it is open)."""
        ...

    @property
    def in_transaction(self) -> bool:
        """Whether a call runs inside an open transaction: a bulk write there takes a
        savepoint of its own so that its failure undoes only itself."""
        ...

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        """Run one statement and return its rows as tuples.

        ``write`` says the statement changes data (INSERT ... RETURNING and the
        like), so a backend with read-only replicas or reader connections routes it
        to a writer.
        """
        ...

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        """Like ``fetch`` and also the result's column names (raw SQL, explain)."""
        ...

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run one writing statement; return the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        """Run one statement once per parameter set, all inside one transaction."""
        ...

    def atomic_block(self) -> AbstractAsyncContextManager[Executor]:
        """A block in which every call runs in one transaction: a new transaction, or
        a savepoint when the executor is already in one. Used by multi-statement
        operations (bulk writes across batches, update with re-read) so they are
        all-or-nothing."""
        ...

    def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        """Yield the rows of one statement in chunks without holding the whole result."""
        ...


class Connection(Executor, Protocol):
    """One pooled driver connection. Only one operation runs on it at a time."""

    async def begin(self, *, isolation: str | None = None, read_only: bool = False) -> None:
        """Start a transaction (SQLite: ``BEGIN IMMEDIATE``)."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def savepoint(self, name: str) -> None: ...

    async def release_savepoint(self, name: str) -> None: ...

    async def rollback_to_savepoint(self, name: str) -> None: ...


class Backend(Protocol):
    """A pool of connections to one database, created by ``AsyncDatabase.connect()``.

    ``settings`` is the ``PoolSettings`` of the database; every field it has that the
    backend can honour takes effect.
    """

    @property
    def dialect(self) -> Dialect: ...

    @property
    def capabilities(self) -> Capabilities:
        """What this backend can do; final once ``open()`` returned (a MySQL server's
        version decides some flags)."""
        ...

    async def open(self) -> None:
        """Create the pool; fail with ``OperationalError`` within ``acquire_timeout``
        when the server cannot be reached."""
        ...

    async def close(self) -> None:
        """Roll back and close every connection."""
        ...

    def connection(self, *, write: bool = True) -> AbstractAsyncContextManager[Connection]:
        """Borrow a connection; it goes back to the pool only if idle, else it is
        closed. Waits at most ``acquire_timeout`` (then ``OperationalError``)."""
        ...

    def stats(self) -> dict[str, int]:
        """The pool's counters (``AsyncDatabase.stats`` maps them to common keys)."""
        ...


class StatementBackend(Backend, Protocol):
    """A backend that runs one statement outside any transaction by itself, on a
    connection of its choosing, rather than lending one for it: the PostgreSQL backend
    pipelines the statements of concurrent tasks over shared connections.

    Announced by ``capabilities.runs_statements``; ``AsyncDatabase`` then sends its
    ``fetch``, ``fetch_described`` and ``execute`` calls made outside a transaction
    here instead of to a borrowed connection. The methods mean what they mean on
    ``Executor``.
    """

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]: ...

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]: ...

    async def execute(self, sql: str, params: Sequence[Any]) -> int: ...


class SingleWriterBackend(Backend, Protocol):
    """A backend whose writes all go through one connection (``capabilities.single_writer``,
    SQLite): ``AsyncDatabase`` refuses a call that would wait for that connection while
    another task's open transaction holds it (G4)."""

    def uses_writer(self, write: bool) -> bool:
        """Whether a call (a write, or not) needs the writer connection."""
        ...

    def holds_writer(self, conn: Connection) -> bool:
        """Whether ``conn`` (a lent connection) is the writer."""
        ...


class CopyExecutor(Executor, Protocol):
    """An executor that bulk-loads with COPY (``capabilities.copy``, PostgreSQL)."""

    async def copy_insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        schema: str | None = None,
        returning_pk: str | None = None,
    ) -> list[Any]:
        """Insert ``rows`` with ``COPY ... FROM STDIN``, all-or-nothing; return new keys.

        ``rows`` hold the values of ``columns`` in order, adapted by the dialect's
        adapters as for an INSERT. With ``returning_pk`` (the database column of a
        sequence-backed primary key that is *not* in ``columns``), the keys are drawn
        from its sequence first, written with the rows and returned in row order;
        without it the result is empty. Outside a transaction the COPY runs in its
        own; inside one it joins it.
        """
        ...


class ForeignKeySuspension(Connection, Protocol):
    """A connection that can suspend foreign-key enforcement for a while
    (``capabilities.foreign_key_suspension``, SQLite)."""

    def foreign_keys_disabled(self) -> AbstractAsyncContextManager[None]:
        """Enforcement is off on this connection inside the block and back on after it.
        SQLite ignores the switch inside a transaction: there it changes nothing."""
        ...


# The flag checks: each narrows the object to the Protocol its flag promises.


def can_copy(ex: Executor) -> TypeGuard[CopyExecutor]:
    return ex.capabilities.copy


def can_suspend_foreign_keys(conn: Connection) -> TypeGuard[ForeignKeySuspension]:
    return conn.capabilities.foreign_key_suspension


def runs_statements(backend: Backend) -> TypeGuard[StatementBackend]:
    return backend.capabilities.runs_statements


def single_writer(backend: Backend) -> TypeGuard[SingleWriterBackend]:
    return backend.capabilities.single_writer
