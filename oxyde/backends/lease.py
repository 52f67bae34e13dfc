"""Leases: how every backend lends a pooled connection, and the proxy the borrower holds.

``async with backend.connection() as conn`` (and so ``database.connection()``, every
transaction and every statement that borrows a connection) gets a ``LeasedConnection``:
a thin proxy over the backend's connection. When the lease ends the proxy is cut off
*before* the connection goes back to the pool, so a reference kept past the block
refuses to run anything (``ProgrammingError``) instead of running statements on a
connection another task may already hold (G5).

The proxy's methods return the backend connection's own coroutine (no frame of their
own), so a statement through a lease costs one attribute hop and one check.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from oxyde.exceptions import ProgrammingError

if TYPE_CHECKING:
    from oxyde.backends.base import Connection, Executor, Row
    from oxyde.backends.capabilities import Capabilities
    from oxyde.sql.dialects.base import Dialect

__all__ = ["Lease", "LeasedConnection"]


class LeasedConnection:
    """A lent connection; usable until its lease ends (``oxyde.backends.base.Connection``).

    Backend-specific members (``copy_insert`` on PostgreSQL, ``thread_id`` on MySQL...)
    are reached through it as well; ``capabilities`` says which optional ones there are.
    """

    __slots__ = ("_lease_what", "_leased", "_released_by")

    def __init__(self, conn: Connection, what: str) -> None:
        self._leased: Connection | None = conn
        #: "database 'default' (postgres)": for messages
        self._lease_what = what
        #: the task that ended the lease (named in the error)
        self._released_by: asyncio.Task[Any] | None = None

    # -- the lease's side --------------------------------------------------------------

    def _end_lease(self) -> None:
        """Cut the proxy off from its connection (the lease is ending)."""
        self._leased = None
        self._released_by = _current_task()

    @property
    def released(self) -> bool:
        """Whether the lease has ended: the proxy refuses every use."""
        return self._leased is None

    def _refuse_use(self) -> NoReturn:
        task = self._released_by
        by = f" by task {task.get_name()!r}" if task is not None else ""
        raise ProgrammingError(
            f"this connection to {self._lease_what} was returned to the pool{by} when its "
            "lease ended (the end of its `async with database.connection()` block, or of "
            "the transaction or statement that borrowed it), and a released connection "
            "refuses use: another task may hold it now. Borrow a new one."
        )

    def _leased_target(self) -> Connection:
        conn = self._leased
        if conn is None:
            self._refuse_use()
        return conn

    # -- Executor / Connection -----------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        return self._leased_target().dialect

    @property
    def capabilities(self) -> Capabilities:
        return self._leased_target().capabilities

    @property
    def in_transaction(self) -> bool:
        return self._leased_target().in_transaction

    @property
    def leased(self) -> Connection:
        """The backend's own connection behind the proxy, while the lease lasts."""
        return self._leased_target()

    def fetch(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> Coroutine[Any, Any, list[Row]]:
        conn = self._leased
        if conn is None:
            self._refuse_use()
        return conn.fetch(sql, params, write=write)

    def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> Coroutine[Any, Any, tuple[list[str], list[Row]]]:
        conn = self._leased
        if conn is None:
            self._refuse_use()
        return conn.fetch_described(sql, params, write=write)

    def execute(self, sql: str, params: Sequence[Any]) -> Coroutine[Any, Any, int]:
        conn = self._leased
        if conn is None:
            self._refuse_use()
        return conn.execute(sql, params)

    def execute_many(
        self, sql: str, params_seq: Sequence[Sequence[Any]]
    ) -> Coroutine[Any, Any, int]:
        return self._leased_target().execute_many(sql, params_seq)

    @asynccontextmanager
    async def atomic_block(self) -> AsyncIterator[Executor]:
        conn = self._leased_target()
        async with conn.atomic_block() as inner:
            # The block's executor is the connection itself: hand out this proxy.
            yield self if inner is conn else inner

    def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        return self._leased_target().stream(sql, params, chunk_size=chunk_size)

    def begin(
        self, *, isolation: str | None = None, read_only: bool = False
    ) -> Coroutine[Any, Any, None]:
        return self._leased_target().begin(isolation=isolation, read_only=read_only)

    def commit(self) -> Coroutine[Any, Any, None]:
        return self._leased_target().commit()

    def rollback(self) -> Coroutine[Any, Any, None]:
        return self._leased_target().rollback()

    def savepoint(self, name: str) -> Coroutine[Any, Any, None]:
        return self._leased_target().savepoint(name)

    def release_savepoint(self, name: str) -> Coroutine[Any, Any, None]:
        return self._leased_target().release_savepoint(name)

    def rollback_to_savepoint(self, name: str) -> Coroutine[Any, Any, None]:
        return self._leased_target().rollback_to_savepoint(name)

    def __getattr__(self, name: str) -> Any:
        # Only for what the class does not define: backend-specific members.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._leased_target(), name)

    def __repr__(self) -> str:
        conn = self._leased
        if conn is None:
            return f"<LeasedConnection to {self._lease_what}, released>"
        return f"<LeasedConnection {conn!r}>"


class Lease:
    """``async with backend.connection() as conn``: take a connection from the pool,
    lend it behind a ``LeasedConnection``, cut that off and give the connection back.

    A backend subclasses it with ``_take()`` (wait for a connection, honouring
    ``acquire_timeout``) and ``_give(conn, failed)`` (return it, or discard it when
    it is not idle: G2). ``failed`` says the block ended with an exception.
    """

    __slots__ = ("_conn", "_proxy", "_what")

    def __init__(self, what: str) -> None:
        #: names the database in the proxy's messages: "database 'default' (...)"
        self._what = what
        self._conn: Any = None
        self._proxy: LeasedConnection | None = None

    async def _take(self) -> Any:
        raise NotImplementedError

    async def _give(self, conn: Any, failed: bool) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> LeasedConnection:
        if self._conn is not None or self._proxy is not None:
            raise ProgrammingError("a connection lease cannot be entered twice")
        conn = self._conn = await self._take()
        proxy = self._proxy = LeasedConnection(conn, self._what)
        return proxy

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        proxy = self._proxy
        if proxy is not None:
            # First: nothing may reach the connection once it is on its way back.
            proxy._end_lease()
        if conn is not None:
            await self._give(conn, exc_type is not None)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
