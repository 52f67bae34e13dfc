"""``SQLiteBackend``: one writer connection and a pool of readers over one database file.

SQLite lets one connection write at a time, so every write and every transaction goes
to the single writer connection (``BEGIN IMMEDIATE`` takes the write lock up front;
a deferred transaction that later writes can fail with ``SQLITE_BUSY_SNAPSHOT`` under
WAL). Plain reads go to up to ``max_connections - 1`` reader connections, which run in
parallel under WAL. An in-memory database is private to its connection, so it gets the
writer alone, which then also serves the reads.

How ``PoolSettings`` applies:

================================  =========================================================
``max_connections``               1 writer + (max - 1) readers; 1 means the writer only
``min_connections``               readers opened by ``open()`` (the writer always is)
``acquire_timeout``               longest wait for a connection, then ``OperationalError``
``idle_timeout``/``max_lifetime`` readers past them are closed when taken or returned
``test_before_acquire``           ``SELECT 1`` before lending; a failing one is replaced
``sqlite_journal_mode``           ``PRAGMA journal_mode`` (set by the writer)
``sqlite_synchronous``            ``PRAGMA synchronous``
``sqlite_cache_size``             ``PRAGMA cache_size``
``sqlite_busy_timeout``           how long the busy handler waits for a lock (ms)
================================  =========================================================

``foreign_keys=ON`` always. URL query options name PRAGMAs (``?temp_store=memory``);
an unknown one is rejected when the backend is created.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from oxyde.backends.capabilities import Capabilities
from oxyde.backends.lease import Lease, LeasedConnection
from oxyde.backends.sqlite import onloop
from oxyde.backends.sqlite.capabilities import CAPABILITIES
from oxyde.backends.sqlite.connection import ConnectOptions, SQLiteConnection, pause
from oxyde.backends.sqlite.pool import ConnectionPool
from oxyde.exceptions import OperationalError

if TYPE_CHECKING:
    from oxyde.backends.base import Connection, Row
    from oxyde.backends.settings import PoolSettings
    from oxyde.backends.url import DatabaseURL
    from oxyde.sql.dialects.base import Dialect

__all__ = ["SQLiteBackend"]

#: PRAGMAs a URL may set, with the values each accepts (None: an integer).
URL_PRAGMAS: Final[dict[str, tuple[str, ...] | None]] = {
    "journal_mode": ("DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"),
    "synchronous": ("OFF", "NORMAL", "FULL", "EXTRA", "0", "1", "2", "3"),
    "cache_size": None,
    "busy_timeout": None,
    "foreign_keys": ("ON", "OFF", "1", "0", "TRUE", "FALSE"),
    "temp_store": ("DEFAULT", "FILE", "MEMORY", "0", "1", "2"),
    "mmap_size": None,
    "page_size": None,
    "auto_vacuum": ("NONE", "FULL", "INCREMENTAL", "0", "1", "2"),
    "wal_autocheckpoint": None,
    "journal_size_limit": None,
    "secure_delete": ("ON", "OFF", "FAST", "1", "0"),
    "recursive_triggers": ("ON", "OFF", "1", "0", "TRUE", "FALSE"),
    "cell_size_check": ("ON", "OFF", "1", "0", "TRUE", "FALSE"),
    "automatic_index": ("ON", "OFF", "1", "0", "TRUE", "FALSE"),
    "trusted_schema": ("ON", "OFF", "1", "0", "TRUE", "FALSE"),
}
# Must come before the journal mode is set and the first table is written.
_FIRST: Final = ("page_size", "auto_vacuum")
_INTEGER: Final = re.compile(r"-?[0-9]+\Z")
_MEMORY: Final = ":memory:"


def _url_pragmas(url: DatabaseURL) -> dict[str, str]:
    pragmas: dict[str, str] = {}
    for name, value in url.options.items():
        key = name.lower()
        if key not in URL_PRAGMAS:
            raise ValueError(
                f"unknown SQLite URL option {name!r}; options are PRAGMAs, one of: "
                f"{', '.join(URL_PRAGMAS)}"
            )
        allowed = URL_PRAGMAS[key]
        ok = _INTEGER.match(value) if allowed is None else value.upper() in allowed
        if not ok:
            expected = "an integer" if allowed is None else ", ".join(allowed)
            raise ValueError(
                f"invalid value {value!r} for SQLite option {name!r}: expected {expected}"
            )
        pragmas[key] = value.upper() if allowed is not None else value
    return pragmas


class SQLiteBackend:
    """The ``Backend`` for ``sqlite://`` URLs.

    It also runs single statements itself (``capabilities.runs_statements``): ``AsyncDatabase``
    sends a call made outside a transaction straight here, which takes an idle
    connection without the lease's async context manager around it. Most such calls
    then complete on the event loop without awaiting anything (``onloop.py``).
    """

    #: what it can do (``oxyde.backends.capabilities``): among others every write goes
    #: through one connection, so ``AsyncDatabase`` refuses a write that would wait for a
    #: transaction another task holds open on it (``uses_writer``, ``holds_writer``)
    capabilities: Final[Capabilities] = CAPABILITIES

    def __init__(self, url: DatabaseURL, settings: PoolSettings, *, name: str = "default") -> None:
        from oxyde.sql.dialects import get_dialect

        self._name = name
        self._settings = settings
        path = url.database or _MEMORY
        self._memory = path == _MEMORY
        self._path = path if self._memory else os.path.abspath(path)
        self._lease_what = f"database {name!r} (SQLite {self._path})"
        options = _url_pragmas(url)
        busy_ms = int(options.pop("busy_timeout", settings.sqlite_busy_timeout))
        pragmas: dict[str, str] = {key: options.pop(key) for key in _FIRST if key in options}
        pragmas["journal_mode"] = settings.sqlite_journal_mode
        pragmas["synchronous"] = settings.sqlite_synchronous
        pragmas["cache_size"] = str(settings.sqlite_cache_size)
        pragmas["foreign_keys"] = "ON"
        pragmas.update(options)
        wal = pragmas["journal_mode"] == "WAL"
        self._options = ConnectOptions(
            path=self._path,
            label=name,
            dialect=get_dialect("sqlite"),
            pragmas=list(pragmas.items()),
            busy_timeout=busy_ms / 1000,
        )
        # Readers only make sense on a shared file; without WAL a reader would block
        # the writer's commits, so they are kept only under WAL.
        readers = 0 if self._memory or not wal else settings.max_connections - 1
        self._writer = ConnectionPool(
            role="writer",
            capacity=1,
            minimum=1,
            connect=lambda: self._connect("writer"),
            idle_timeout=None,
            max_lifetime=None,
            test_before_acquire=settings.test_before_acquire,
        )
        self._readers: ConnectionPool | None = None
        if readers > 0:
            self._readers = ConnectionPool(
                role="reader",
                capacity=readers,
                minimum=settings.min_connections,
                connect=lambda: self._connect("reader"),
                idle_timeout=settings.idle_timeout,
                max_lifetime=settings.max_lifetime,
                test_before_acquire=settings.test_before_acquire,
            )
        self._opened = False

    @property
    def dialect(self) -> Dialect:
        return self._options.dialect

    @property
    def path(self) -> str:
        return self._path

    async def _connect(self, role: str) -> SQLiteConnection:
        conn = SQLiteConnection(self._options, role=role)
        await conn.open()
        return conn

    async def open(self) -> None:
        timeout = self._settings.acquire_timeout
        try:
            async with asyncio.timeout(timeout):
                # The writer first: it switches the file to WAL before readers attach.
                await self._writer.fill()
                if self._readers is not None:
                    await self._readers.fill()
        except TimeoutError:
            await self.close()
            raise OperationalError(
                f"could not open SQLite database {self._name!r} ({self._path}) within {timeout:g}s"
            ) from None
        except BaseException:
            await self.close()
            raise
        self._opened = True

    async def close(self) -> None:
        await self._writer.close()
        if self._readers is not None:
            await self._readers.close()

    # -- single statements (StatementBackend) -------------------------------------------

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        if onloop.pause_due():
            await pause()
        pool = self._writer if write or self._readers is None else self._readers
        conn = pool.take_nowait()
        if conn is None:
            async with _Lease(self, pool) as leased:
                return await leased.fetch(sql, params, write=write)
        try:
            rows = conn.fetch_now(sql, params)
            if rows is None:
                rows = await conn.fetch(sql, params, write=write)
            return rows
        finally:
            if not pool.release_nowait(conn):
                await pool.release(conn)

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        pool = self._writer if write or self._readers is None else self._readers
        async with _Lease(self, pool) as conn:
            return await conn.fetch_described(sql, params, write=write)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        if onloop.pause_due():
            await pause()
        pool = self._writer
        conn = pool.take_nowait()
        if conn is None:
            async with _Lease(self, pool) as leased:
                return await leased.execute(sql, params)
        try:
            changed = conn.execute_now(sql, params)
            if changed is None:
                changed = await conn.execute(sql, params)
            return changed
        finally:
            if not pool.release_nowait(conn):
                await pool.release(conn)

    def connection(self, *, write: bool = True) -> _Lease:
        if write or self._readers is None:
            return _Lease(self, self._writer)
        return _Lease(self, self._readers)

    def uses_writer(self, write: bool) -> bool:
        """Whether a call needs the writer: a write, or any call when there are no
        readers (an in-memory database)."""
        return write or self._readers is None

    def holds_writer(self, conn: Connection) -> bool:
        """Whether ``conn`` (a lent connection) is the writer."""
        if isinstance(conn, LeasedConnection):
            conn = conn.leased
        return isinstance(conn, SQLiteConnection) and conn.role == "writer"

    def stats(self) -> dict[str, int]:
        """Counts over the writer and the readers: ``size`` (open), ``idle``,
        ``in_use``, ``waiting`` (tasks waiting for a connection) and
        ``connections_lost`` (failed their check, or came back closed)."""
        total = self._writer.stats()
        capacity = self._writer.capacity
        if self._readers is not None:
            for key, value in self._readers.stats().items():
                total[key] += value
            capacity += self._readers.capacity
        total["max"] = capacity
        return total

    def _timeout_error(self, pool: ConnectionPool) -> OperationalError:
        stats = pool.stats()
        return OperationalError(
            f"timed out after {self._settings.acquire_timeout:g}s waiting for a {pool.role} "
            f"connection to SQLite database {self._name!r} ({stats['in_use']} of "
            f"{pool.capacity} in use, {stats['waiting']} waiting)"
        )


class _Lease(Lease):
    """``async with backend.connection() as conn``: borrow, then give back."""

    __slots__ = ("_backend", "_pool")

    def __init__(self, backend: SQLiteBackend, pool: ConnectionPool) -> None:
        super().__init__(backend._lease_what)
        self._backend = backend
        self._pool = pool

    async def _take(self) -> SQLiteConnection:
        pool = self._pool
        conn = pool.take_nowait()
        if conn is None:
            try:
                async with asyncio.timeout(self._backend._settings.acquire_timeout):
                    conn = await pool.acquire()
            except TimeoutError:
                raise self._backend._timeout_error(pool) from None
        return conn

    async def _give(self, conn: SQLiteConnection, failed: bool) -> None:
        if not self._pool.release_nowait(conn):
            await self._pool.release(conn)
