"""``PostgresBackend``: a psycopg ``AsyncConnectionPool`` configured from ``PoolSettings``.

How each setting takes effect:

==============================  ===========================================================
``max_connections``             pool ``max_size``
``min_connections``             pool ``min_size`` (opened and waited for by ``open()``)
``acquire_timeout``             pool ``timeout``; ``open()`` waits as long at most
``idle_timeout``                pool ``max_idle`` (``None``: never)
``max_lifetime``                pool ``max_lifetime`` (``None``: never)
``test_before_acquire``         pool ``check=AsyncConnectionPool.check_connection``
``ssl_mode`` / ``ssl_*``        libpq ``sslmode`` (MySQL spellings mapped), ``sslrootcert``,
                                ``sslcert``, ``sslkey``
``pg_application_name``         libpq ``application_name`` (default ``oxyde``)
``pg_statement_cache_capacity`` ``prepared_max`` of each connection; 0 turns preparing off
``pg_prepare``                  ``False``: ``prepare_threshold=None``, no server-side
                                prepared statements (PgBouncer in transaction mode); the
                                URL option ``?prepare_threshold=none`` does the same
``pg_reconnect_timeout``        pool ``reconnect_timeout``; a give-up is logged as an ERROR
==============================  ===========================================================

Statements run outside a transaction go through the backend itself (``fetch``,
``fetch_described``, ``execute``): those with parameters, and lone queries without, are
batched over pipelined connections (``batching.py``); scripts and commands without
parameters get a connection of their own and the simple query protocol. The URL option
``?batching=off`` lends every statement a connection of its own.

Every connection is in autocommit mode, returns tuples, takes ``$1`` placeholders and
runs with ``TimeZone = 'UTC'``. Even without ``test_before_acquire``, a connection whose
socket has something to say while idle in the pool (the server closed it, for instance
after ``pg_terminate_backend``) is checked with a round trip before it is lent, and
replaced if dead; a silent network failure is only caught by the full check.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Self

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.raw_cursor import AsyncRawCursor
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from oxyde.backends.base import Row
from oxyde.backends.capabilities import Capabilities
from oxyde.backends.lease import Lease
from oxyde.backends.postgres import cancel
from oxyde.backends.postgres.batching import StatementBatcher
from oxyde.backends.postgres.capabilities import CAPABILITIES
from oxyde.backends.postgres.connection import PostgresConnection
from oxyde.backends.postgres.errors import pool_timeout_error
from oxyde.backends.postgres.types import psycopg_dialect
from oxyde.backends.postgres.wire import COUNT, DESCRIBED, ROWS, Wire, one_query, wire_of
from oxyde.exceptions import OperationalError
from oxyde.sql.dialects.base import Dialect
from oxyde.sql.dialects.postgres import POSTGRES

if TYPE_CHECKING:
    from oxyde.backends.settings import PoolSettings
    from oxyde.backends.url import DatabaseURL

__all__ = ["PostgresBackend"]

_log = logging.getLogger("oxyde.postgres")

_IDLE: Final = TransactionStatus.IDLE
# psycopg's own default: prepare a statement the 5th time a connection runs it.
_PREPARE_THRESHOLD: Final = 5
#: ``PoolSettings.ssl_mode`` -> libpq ``sslmode``; MySQL's spellings mean the same here
_SSL_MODES: Final = {
    **{mode: mode for mode in ("disable", "allow", "prefer", "require", "verify-ca")},
    "verify-full": "verify-full",
    "disabled": "disable",
    "preferred": "prefer",
    "required": "require",
    "verify_ca": "verify-ca",
    "verify_identity": "verify-full",
    "verify-identity": "verify-full",
}
# A pool needs a number for "never"; a century will do.
_NEVER: Final = 100 * 365 * 86400.0
_Pool = AsyncConnectionPool[AsyncConnection[Row]]

# Kwargs key through which a pool's connect attempts report their failure.
_ON_ERROR: Final = "_oxyde_on_connect_error"


class _PooledConnection(AsyncConnection[Row]):
    """An ``AsyncConnection`` that tells its backend why a connect attempt failed, so
    that ``open()`` can say "connection refused" rather than only "timed out"."""

    #: its statement state for batched statements (``wire.wire_of``), made on first use
    oxyde_wire: Wire | None = None

    async def cancel_safe(self, *, timeout: float = 30.0) -> None:  # noqa: ASYNC109 (psycopg's)
        # Every cancel request, oxyde's and psycopg's own (an interrupted wait), comes
        # here: before libpq 17 it must not hold the GIL while the server is unreachable.
        await cancel.cancel(self, super().cancel_safe, timeout)

    @classmethod
    async def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
        on_error = kwargs.pop(_ON_ERROR, None)
        try:
            return await super().connect(conninfo, **kwargs)
        except psycopg.Error as exc:
            if on_error is not None:
                on_error(exc)
            raise


class PostgresBackend:
    """A pool of PostgreSQL connections for one database (``oxyde.backends.base.Backend``)."""

    #: what it can do (``oxyde.backends.capabilities``): among others its connections
    #: offer ``copy_insert``, and it runs single statements itself, batched
    #: (``oxyde.backends.base.StatementBackend``)
    capabilities: Final[Capabilities] = CAPABILITIES

    def __init__(self, url: DatabaseURL, settings: PoolSettings, *, name: str = "default") -> None:
        self._url = url
        self._settings = settings
        self._name = name
        self._where = _describe(url)
        self._lease_what = f"database {name!r} (PostgreSQL at {self._where})"
        self._dialect = psycopg_dialect(POSTGRES)
        self._batching = True
        #: executions before a statement is prepared (None: never), set from the URL
        self._threshold: int | None = None
        self._kwargs = self._connect_kwargs()
        self._pool: _Pool | None = None
        self._batcher: StatementBatcher | None = None
        #: connections out of the pool (lent, or held as pipes by the batcher)
        self._lent = 0
        self._last_connect_error: psycopg.Error | None = None
        #: connections found dead by this backend (psycopg counts its own checks)
        self._lost = 0
        # Connections being rolled back or closed after an abnormal exit: kept so the
        # shielded clean-up tasks are not garbage collected, and awaited by close().
        self._recycling: set[asyncio.Task[None]] = set()

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @property
    def pool(self) -> _Pool:
        """The psycopg pool (for its ``get_stats()``); only after ``open()``."""
        if self._pool is None:
            raise OperationalError(f"database {self._name!r} ({self._where}) is not connected")
        return self._pool

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        s = self._settings
        pool: _Pool = AsyncConnectionPool(
            "",
            kwargs=self._kwargs,
            connection_class=_PooledConnection,
            min_size=s.min_connections,
            max_size=s.max_connections,
            open=False,
            timeout=s.acquire_timeout,
            max_idle=s.idle_timeout if s.idle_timeout is not None else _NEVER,
            max_lifetime=s.max_lifetime if s.max_lifetime is not None else _NEVER,
            check=AsyncConnectionPool.check_connection if s.test_before_acquire else None,
            configure=self._configure,
            reconnect_timeout=s.pg_reconnect_timeout,
            reconnect_failed=self._reconnect_failed,
            name=f"oxyde-{self._name}",
        )
        self._last_connect_error = None
        deadline = time.monotonic() + s.acquire_timeout
        try:
            await pool.open(wait=s.min_connections > 0, timeout=s.acquire_timeout)
            if s.min_connections == 0:
                # Nothing was opened: prove the server is there with one connection.
                remaining = max(deadline - time.monotonic(), 0.001)
                await pool.putconn(await pool.getconn(timeout=remaining))
        except PoolTimeout as exc:
            await pool.close(timeout=1.0)
            raise self._timeout_error() from self._last_connect_error or exc
        except BaseException:
            await pool.close(timeout=1.0)
            raise
        self._pool = pool
        if self._batching:
            self._batcher = StatementBatcher(
                self._acquire_for_batch,
                self._release_from_batch,
                self._wire_of,
                self._exhausted,
                self._pool_open,
            )
        _log.debug(
            "connected %r to %s (psycopg %s, libpq %s)",
            self._name,
            self._where,
            psycopg.pq.__impl__,
            psycopg.pq.version(),
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        batcher, self._batcher = self._batcher, None
        if batcher is not None:
            await batcher.close()
        if self._recycling:
            await asyncio.gather(*self._recycling, return_exceptions=True)
        if pool is not None:
            # Idle connections close now; lent ones are rolled back and closed when
            # they come back.
            await pool.close()

    def connection(self, *, write: bool = True) -> _Lease:
        return _Lease(self)

    def stats(self) -> dict[str, int]:
        """The pool's counters (size, available, waiting, errors...), and the
        batcher's: ``batch_pipes`` connections held for batched statements, of which
        ``batch_idle`` are idle. Idle ones count as available: any caller that finds
        the pool empty gets one. ``connections_lost``: connections found dead, by a
        check before lending or on their way back from a call."""
        stats = self.pool.get_stats()
        stats["connections_lost"] = stats.get("connections_lost", 0) + self._lost
        batcher = self._batcher
        if batcher is not None:
            idle = batcher.idle
            stats["batch_pipes"] = batcher.pipes
            stats["batch_idle"] = idle
            stats["pool_available"] = stats.get("pool_available", 0) + idle
        return stats

    # -- single statements (StatementBackend) --------------------------------------------

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        """One statement outside any transaction: batched when it has parameters or is
        a lone query; else (a script, a command) on a connection of its own, through the
        simple query protocol."""
        batcher = self._batcher
        if batcher is not None and (params or one_query(sql)):
            rows: list[Row] = await batcher.run(sql, params, ROWS, write)
            return rows
        async with self.connection(write=write) as conn:
            return await conn.fetch(sql, params, write=write)

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        batcher = self._batcher
        if batcher is not None and (params or one_query(sql)):
            described: tuple[list[str], list[Row]] = await batcher.run(
                sql, params, DESCRIBED, write
            )
            return described
        async with self.connection(write=write) as conn:
            return await conn.fetch_described(sql, params, write=write)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        batcher = self._batcher
        if batcher is not None and params:
            count: int = await batcher.run(sql, params, COUNT)
            return count
        async with self.connection(write=True) as conn:
            return await conn.execute(sql, params)

    async def _acquire_for_batch(self) -> AsyncConnection[Row]:
        return await self._acquire(self.pool)

    async def _release_from_batch(self, raw: AsyncConnection[Row], failed: bool) -> None:
        pool = self._pool
        if pool is None:
            # Closed meanwhile: nobody will lend it again.
            self._lent -= 1
            await raw.close()
            return
        await self._release(pool, raw, failed)

    def _wire_of(self, raw: AsyncConnection[Row]) -> Wire:
        return wire_of(raw, self._threshold, self._settings.pg_statement_cache_capacity)

    def _exhausted(self) -> bool:
        return self._lent >= self._settings.max_connections

    def _pool_open(self) -> bool:
        return self._pool is not None

    # -- connections ---------------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        url, s = self._url, self._settings
        parts = {
            "host": url.host,
            "port": url.port,
            "user": url.username,
            "password": url.password,
            "dbname": url.database,
        }
        kwargs: dict[str, Any] = {"fallback_application_name": "oxyde"}
        kwargs.update((key, value) for key, value in parts.items() if value is not None)
        # Query-string options go to libpq as they are (it rejects unknown ones), except
        # psycopg's own ``prepare_threshold`` and oxyde's ``batching``.
        options = dict(url.options)
        threshold = _prepare_threshold(options.pop("prepare_threshold", None))
        self._batching = _flag("batching", options.pop("batching", None), default=True)
        kwargs.update(options)
        if s.ssl_mode is not None:
            if s.ssl_mode not in _SSL_MODES:
                raise ValueError(
                    f"ssl_mode {s.ssl_mode!r} is not a PostgreSQL sslmode; "
                    f"valid: {', '.join(_SSL_MODES)}"
                )
            kwargs["sslmode"] = _SSL_MODES[s.ssl_mode]
        settings_options = {
            "sslrootcert": s.ssl_root_cert,
            "sslcert": s.ssl_client_cert,
            "sslkey": s.ssl_client_key,
            "application_name": s.pg_application_name,
        }
        kwargs.update((key, value) for key, value in settings_options.items() if value is not None)
        prepare = s.pg_prepare and s.pg_statement_cache_capacity > 0
        self._threshold = threshold if prepare else None
        kwargs.update(
            autocommit=True,
            cursor_factory=AsyncRawCursor,
            # One cache of prepared statements per connection: oxyde's (``wire.py``)
            # when statements go through libpq, else psycopg's. Both at once cannot
            # work: psycopg follows every ROLLBACK with DEALLOCATE ALL once it has
            # prepared something, and that removes oxyde's statements too.
            prepare_threshold=None if self._batching else self._threshold,
        )
        kwargs[_ON_ERROR] = self._remember_connect_error
        return kwargs

    def _remember_connect_error(self, exc: psycopg.Error) -> None:
        self._last_connect_error = exc

    async def _configure(self, conn: AsyncConnection[Row]) -> None:
        capacity = self._settings.pg_statement_cache_capacity
        if capacity > 0:
            conn.prepared_max = capacity
        # One zone for every session: TIMESTAMPTZ values read back aware in UTC.
        # A SET rather than a startup option, which PgBouncer would refuse.
        await conn.execute("SET TIME ZONE 'UTC'")

    async def _acquire(self, pool: _Pool) -> AsyncConnection[Row]:
        # The first attempt waits the pool's own timeout (acquire_timeout); a retry
        # after a dead connection only what is left of it.
        timeout: float | None = None
        deadline = 0.0
        batcher = self._batcher
        if batcher is not None and self._lent >= self._settings.max_connections:
            # Every connection is out; one may be idle with the batcher.
            reclaimed = batcher.reclaim()
            if reclaimed is not None:
                return reclaimed
        while True:
            try:
                raw = await pool.getconn(timeout=timeout)
            except PoolTimeout as exc:
                raise self._timeout_error() from exc
            except PoolClosed as exc:
                raise OperationalError(
                    f"database {self._name!r} ({self._where}) is closed", code="08003"
                ) from exc
            if not _has_pending_input(raw):
                self._lent += 1
                return raw
            # Something arrived while the connection sat idle: typically the server's
            # goodbye. A round trip tells a dead connection from a chatty one.
            try:
                await AsyncConnectionPool.check_connection(raw)
            except psycopg.Error:
                _log.info("replacing a connection to %s closed by the server", self._where)
                self._lost += 1
                await raw.close()
                await pool.putconn(raw)
                if timeout is None:
                    deadline = time.monotonic() + self._settings.acquire_timeout
                timeout = max(deadline - time.monotonic(), 0.0)
                continue
            except BaseException:
                await pool.putconn(raw)
                raise
            self._lent += 1
            return raw

    async def _release(self, pool: _Pool, raw: AsyncConnection[Row], failed: bool) -> None:
        self._lent -= 1
        if raw.broken:
            # Closed by the server or the network, not by us.
            self._lost += 1
        if not failed and raw.pgconn.transaction_status == _IDLE:
            # The common path does not suspend, so it cannot be interrupted midway.
            # (A closed pool closes what comes back to it.)
            await pool.putconn(raw)
            return
        task = asyncio.ensure_future(self._recycle(pool, raw))
        self._recycling.add(task)
        task.add_done_callback(self._recycling.discard)
        # Shielded: a second cancellation must not strand the connection outside the
        # pool or hand it back mid-transaction.
        await asyncio.shield(task)

    async def _recycle(self, pool: _Pool, raw: AsyncConnection[Row]) -> None:
        status = raw.pgconn.transaction_status
        if status != _IDLE and not raw.closed:
            if status == TransactionStatus.ACTIVE:
                # A statement or COPY still in progress: nothing to salvage.
                await raw.close()
            else:
                try:
                    await asyncio.wait_for(raw.rollback(), self._settings.acquire_timeout)
                except (psycopg.Error, TimeoutError, OSError):
                    await raw.close()
        # A closed connection is discarded and replaced by the pool.
        await pool.putconn(raw)

    async def _reconnect_failed(self, pool: _Pool) -> None:
        _log.error(
            "gave up reconnecting to %s after pg_reconnect_timeout=%gs; the next call "
            "that needs a connection tries again",
            self._where,
            self._settings.pg_reconnect_timeout,
        )

    def _timeout_error(self) -> OperationalError:
        # A failed connect attempt knows why (refused, bad password...); a pool that
        # is merely busy does not.
        reason: str | None = None
        if self._last_connect_error is not None:
            lines = str(self._last_connect_error).split("\n")
            reason = " ".join(line.strip() for line in lines if line.strip())
            reason = reason or type(self._last_connect_error).__name__
        return pool_timeout_error(self._where, self._settings.acquire_timeout, reason)


class _Lease(Lease):
    """``async with backend.connection() as conn``: borrow, then return or discard."""

    __slots__ = ("_backend", "_pool")

    def __init__(self, backend: PostgresBackend) -> None:
        super().__init__(backend._lease_what)
        self._backend = backend
        self._pool: _Pool | None = None

    async def _take(self) -> PostgresConnection:
        backend = self._backend
        pool = backend.pool
        raw = await backend._acquire(pool)
        self._pool = pool
        wire = backend._wire_of(raw) if backend._batching else None
        return PostgresConnection(raw, backend._dialect, wire)

    async def _give(self, conn: PostgresConnection, failed: bool) -> None:
        if self._pool is not None:
            await self._backend._release(self._pool, conn.raw, failed)


def _prepare_threshold(option: str | None) -> int | None:
    """psycopg's ``prepare_threshold`` from a URL option: a count, or ``none``/``off``."""
    if option is None:
        return _PREPARE_THRESHOLD
    if option.strip().lower() in ("", "none", "null", "off", "false"):
        return None
    try:
        threshold = int(option)
    except ValueError:
        threshold = -1
    if threshold < 0:
        raise ValueError(f"prepare_threshold must be a count >= 0 or 'none', got {option!r}")
    return threshold


def _flag(name: str, option: str | None, *, default: bool) -> bool:
    """An on/off URL option."""
    if option is None:
        return default
    value = option.strip().lower()
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no", "none"):
        return False
    raise ValueError(f"{name} must be on or off, got {option!r}")


def _has_pending_input(raw: AsyncConnection[Row]) -> bool:
    """Whether an idle connection's socket is readable (or the connection is dead)."""
    if raw.closed or raw.broken:
        return True
    try:
        readable, _, _ = select.select((raw.pgconn.socket,), (), (), 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


def _describe(url: DatabaseURL) -> str:
    """host:port/database, for messages (never the password)."""
    host = url.host or "localhost"
    port = url.port or 5432
    return f"{host}:{port}/{url.database or ''}"
