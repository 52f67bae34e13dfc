"""The contract between the query layer and a backend: what an executor can do.

The query layer never sees a driver. It compiles a statement for ``executor.dialect``
and hands SQL text plus bound parameters (already adapted by the dialect) to one of the
methods below. Three things implement ``Executor``: a connected ``AsyncDatabase`` (each
call borrows a pooled connection), a transaction opened by ``atomic()`` (every call runs
on its pinned connection), and a backend connection itself.

Every method maps driver errors onto ``oxyde.exceptions`` before they escape
and leaves the connection usable or discards it: none leaks, and only an idle one
goes back to the pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

from oxyde.sql.dialects.base import Dialect

Row = tuple[Any, ...]


@runtime_checkable
class Executor(Protocol):
    @property
    def dialect(self) -> Dialect: ...

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
    ) -> AsyncIterator[list[Row]]:
        """Yield the rows of one statement in chunks without holding the whole result."""
        ...


class Connection(Executor, Protocol):
    """One pooled driver connection. Only one operation runs on it at a time."""

    @property
    def in_transaction(self) -> bool: ...

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


class StatementBackend(Backend, Protocol):
    """A backend that runs one statement outside any transaction by itself, on a
    connection of its choosing, rather than lending one for it: the PostgreSQL backend
    pipelines the statements of concurrent tasks over shared connections.

    A backend class opts in with ``runs_statements = True``; ``AsyncDatabase`` then
    sends its ``fetch``, ``fetch_described`` and ``execute`` calls made outside a
    transaction here instead of to a borrowed connection. The methods mean what they
    mean on ``Executor``.
    """

    runs_statements: bool

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]: ...

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]: ...

    async def execute(self, sql: str, params: Sequence[Any]) -> int: ...
