"""``MySQLBackend``: oxyde's own pool of mysqlclient connections (the driver has none).

How each ``PoolSettings`` field takes effect:

==============================  ===========================================================
``max_connections``             connections open at once, counting those being opened,
                                recovered after a cancel, or closed
``min_connections``             opened by ``open()`` (the first one in the foreground) and
                                kept by a maintenance task
``acquire_timeout``             the longest ``connection()`` waits for a free or new
                                connection; also the driver's ``connect_timeout``
``idle_timeout``                idle connections beyond ``min_connections`` are closed
``max_lifetime``                connections older than this are closed when next idle
``test_before_acquire``         a ``ping`` round trip before a connection is lent
``ssl_mode`` / ``ssl_*``        the driver's ``ssl_mode`` and ``ssl={"ca", "cert", "key"}``
``mysql_charset`` / ``_collation``  the connection's ``SET NAMES ... COLLATE ...``
==============================  ===========================================================

Without ``test_before_acquire`` a connection whose socket became readable while idle
(the server closed it: ``KILL CONNECTION``, ``wait_timeout``, a restart) is replaced
before it is lent, at no round-trip cost.

A connection goes back to the pool only when idle: no transaction, no unread
result, no raw transaction-control statement run on it, and no cancelled call still
running on its thread. One left in a transaction is rolled back first; anything else is
closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

import MySQLdb

from oxyde.backends.capabilities import Capabilities
from oxyde.backends.lease import Lease
from oxyde.backends.mysql.capabilities import CAPABILITIES, server_capabilities
from oxyde.backends.mysql.config import ConnectConfig, connect_config
from oxyde.backends.mysql.connection import MySQLConnection, shutdown_socket
from oxyde.backends.mysql.dialect import server_dialect
from oxyde.backends.mysql.errors import errno_of
from oxyde.backends.mysql.session import Row, Session
from oxyde.backends.mysql.worker import Worker
from oxyde.backends.url import DatabaseURL, parse_url
from oxyde.exceptions import OperationalError
from oxyde.sql.dialects.base import Dialect
from oxyde.sql.dialects.mysql import MYSQL

if TYPE_CHECKING:
    from oxyde.backends.settings import PoolSettings

__all__ = ["MySQLBackend"]

_log = logging.getLogger("oxyde.mysql")

#: The side connection that sends ``KILL QUERY`` gives up after this long.
KILL_TIMEOUT: Final = 3.0
#: How long ``close()`` waits for lent connections and cancelled calls.
CLOSE_WAIT: Final = 5.0
_UNKNOWN_THREAD: Final = 1094  # ER_NO_SUCH_THREAD: the session is already gone


def _kill_query(params: dict[str, Any], thread_id: int) -> None:
    """Runs on a short-lived thread: stop whatever session ``thread_id`` is running."""
    conn: Any = MySQLdb.connect(**params)
    try:
        conn.query(b"KILL QUERY %d" % thread_id)
    except MySQLdb.OperationalError as exc:
        if errno_of(exc) != _UNKNOWN_THREAD:
            raise
    finally:
        conn.close()


class _Opening:
    """The result of a connect job, kept so that a connect whose caller gave up can
    still be closed once the worker thread finishes it."""

    __slots__ = ("session",)

    def __init__(self) -> None:
        self.session: Session | None = None

    def run(self, config: ConnectConfig) -> Session:
        self.session = Session.connect(config.params, config.init_sql, config.require_tls)
        return self.session

    def discard(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()


class MySQLBackend:
    """A pool of connections to one MySQL or MariaDB database.

    It also runs single statements itself (``capabilities.runs_statements``): ``AsyncDatabase``
    sends a call made outside a transaction straight here, which runs it on an idle
    connection without a lease and its proxy around it (nobody else sees that
    connection, so there is no reference to cut off). Without an idle connection, or
    with ``test_before_acquire``, the call takes the lease path.
    """

    def __init__(
        self, url: DatabaseURL | str, settings: PoolSettings, *, name: str = "default"
    ) -> None:
        if isinstance(url, str):
            url = parse_url(url)
        self._config = connect_config(url, settings)
        self._name = name
        self._where = self._config.where
        self._lease_what = f"database {name!r} (MySQL at {self._where})"
        self._max = settings.max_connections
        self._min = settings.min_connections
        self._acquire_timeout = settings.acquire_timeout
        self._idle_timeout = settings.idle_timeout
        self._max_lifetime = settings.max_lifetime
        self._test_before_acquire = settings.test_before_acquire
        self._dialect: Dialect = MYSQL
        self._capabilities: Capabilities = CAPABILITIES
        self._idle: deque[MySQLConnection] = deque()
        #: connections that exist or are being opened or closed (bounded by max)
        self._size = 0
        self._waiters: deque[asyncio.Future[MySQLConnection | None]] = deque()
        self._tasks: set[asyncio.Task[Any]] = set()
        #: connections lent by ``connection()`` and not yet taken back
        self._lent: set[MySQLConnection] = set()
        self._maintainer: asyncio.Task[None] | None = None
        self._killer: ThreadPoolExecutor | None = None
        self._open_lock = asyncio.Lock()
        self._is_open = False
        self._seq = 0
        #: connections found dead: lost during a call, or closed by the server while idle
        self._lost = 0
        #: the server's version string, known after ``open()``
        self.server_info = ""

    def __repr__(self) -> str:
        return f"<MySQLBackend {self._name!r} {self._where} size={self._size}>"

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def stats(self) -> dict[str, int]:
        """Counts for monitoring: connections open (``size``), ``idle``, ``in_use``,
        tasks ``waiting`` for one, ``background`` work (recovering a cancelled call,
        rolling back or closing a connection), and ``connections_lost`` so far (the
        server or the network ended them, during a call or while idle)."""
        return {
            "size": self._size,
            "idle": len(self._idle),
            "in_use": self._size - len(self._idle),
            "waiting": sum(1 for w in self._waiters if not w.done()),
            "background": len(self._tasks),
            "max": self._max,
            "connections_lost": self._lost,
        }

    # -- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        async with self._open_lock:
            if self._is_open:
                return
            try:
                async with asyncio.timeout(self._acquire_timeout):
                    self._size += 1
                    conn = await self._connect()
                    try:
                        rows = await conn.fetch("SELECT @@auto_increment_increment", ())
                    except BaseException:
                        self._discard(conn)
                        raise
            except TimeoutError:
                raise self._timeout_error("connecting") from None
            step = int(rows[0][0]) if rows and rows[0][0] else 1
            self.server_info = conn.session.server_info
            self._dialect = server_dialect(self.server_info, step)
            self._capabilities = server_capabilities(self._dialect, self.server_info)
            self._is_open = True
            self._checkin(conn)
            self._fill()
            self._maintainer = asyncio.get_running_loop().create_task(
                self._maintain(), name=f"oxyde-mysql-{self._name}-maintenance"
            )

    async def close(self) -> None:
        """Close idle connections now and lent ones as they come back (rolled back by
        the server as they close). Connections still lent after ``CLOSE_WAIT`` seconds
        are shut down under their users, whose calls then fail."""
        self._is_open = False
        if self._maintainer is not None:
            self._maintainer.cancel()
            self._maintainer = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(self._closed_error())
        while self._idle:
            self._discard(self._idle.popleft())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_WAIT
        while self._lent or self._tasks:
            left = deadline - loop.time()
            if left <= 0:
                break
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=left)
            else:
                await asyncio.sleep(min(left, 0.01))
        for conn in list(self._lent):
            # Past the deadline: make any call blocked on the server return, then close.
            conn.session.broken = True
            shutdown_socket(conn.session.fd)
            self._discard(conn)
        self._lent.clear()
        if self._killer is not None:
            self._killer.shutdown(wait=False)
            self._killer = None

    # -- single statements (StatementBackend) -------------------------------------------

    def _take_nowait(self) -> MySQLConnection | None:
        """An idle connection lent at once, or None: the caller then borrows one through
        ``connection()`` (which waits, opens, pings or reports a closed pool)."""
        if not self._is_open or self._test_before_acquire:
            return None
        conn = self._take_idle()
        if conn is not None:
            self._lent.add(conn)
        return conn

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        conn = self._take_nowait()
        if conn is None:
            async with _Lease(self) as leased:
                return await leased.fetch(sql, params, write=write)
        try:
            return await conn.fetch(sql, params, write=write)
        finally:
            self.release(conn)

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        conn = self._take_nowait()
        if conn is None:
            async with _Lease(self) as leased:
                return await leased.fetch_described(sql, params, write=write)
        try:
            return await conn.fetch_described(sql, params, write=write)
        finally:
            self.release(conn)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        conn = self._take_nowait()
        if conn is None:
            async with _Lease(self) as leased:
                return await leased.execute(sql, params)
        try:
            return await conn.execute(sql, params)
        finally:
            self.release(conn)

    def connection(self, *, write: bool = True) -> _Lease:
        # ``write`` routes to a primary on backends with replicas; MySQL has one server.
        return _Lease(self)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run background work (recovery, reset, close) that ``close()`` waits for."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.warning("background MySQL task failed", exc_info=task.exception())

    # -- connections -----------------------------------------------------------------

    async def _connect(self) -> MySQLConnection:
        """Open one connection on a new worker thread. The caller has counted it in
        ``_size``; on failure this gives the slot back (once the thread is done)."""
        self._seq += 1
        worker = Worker(f"oxyde-mysql-{self._name}-{self._seq}")
        opening = _Opening()
        try:
            session = await worker.submit(opening.run, self._config)
        except asyncio.CancelledError:
            # The thread goes on connecting: close what it makes, then free the slot.
            self.spawn(self._abandon(worker, worker.submit(opening.discard)))
            raise
        except BaseException as exc:
            worker.stop()
            self._slot_freed()
            if isinstance(exc, OperationalError):
                raise OperationalError(
                    f"database {self._name!r} ({self._where}): {exc}", code=exc.code
                ) from exc.__cause__
            raise
        return MySQLConnection(session, worker, self)

    async def _abandon(self, worker: Worker, done: asyncio.Future[None]) -> None:
        try:
            await done
        finally:
            worker.stop()
            self._slot_freed()

    async def _acquire(self) -> MySQLConnection:
        if not self._is_open:
            raise self._closed_error()
        conn = self._take_idle()
        if conn is not None and not self._test_before_acquire:
            return conn
        try:
            async with asyncio.timeout(self._acquire_timeout):
                return await self._acquire_slow(conn)
        except TimeoutError:
            raise self._timeout_error("waiting for a connection") from None

    async def _acquire_slow(self, conn: MySQLConnection | None) -> MySQLConnection:
        loop = asyncio.get_running_loop()
        while True:
            if conn is None:
                conn = self._take_idle()
            if conn is not None:
                if self._test_before_acquire:
                    try:
                        await conn.ping()
                    except OperationalError:
                        self.release(conn)
                        conn = None
                        continue
                    except BaseException:
                        self.release(conn)
                        raise
                return conn
            if not self._is_open:
                raise self._closed_error()
            if self._size < self._max:
                self._size += 1
                return await self._connect()
            waiter: asyncio.Future[MySQLConnection | None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    # Handed a connection (or a free slot) just as we gave up: pass it on.
                    handed = waiter.result()
                    if handed is not None:
                        self.release(handed)
                    else:
                        self._wake()
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                raise

    def _take_idle(self) -> MySQLConnection | None:
        idle = self._idle
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the rest can age out
            if self._expired(conn, now):
                self._discard(conn)
                continue
            if conn.server_spoke():
                self._lost += 1
                self._discard(conn)
                continue
            return conn
        return None

    def _expired(self, conn: MySQLConnection, now: float) -> bool:
        lifetime = self._max_lifetime
        return lifetime is not None and now - conn.created_at > lifetime

    def release(self, conn: MySQLConnection) -> None:
        """Take a lent connection back: into the pool if idle, else reset or close."""
        if conn.busy:
            # A cancelled call is still running on its thread; decide when it is over.
            conn.on_idle = self.release
            return
        self._lent.discard(conn)
        session = conn.session
        if session.lost and not conn.closing:
            self._lost += 1
        if (
            not self._is_open
            or session.broken
            or session.dirty
            or session.result is not None
            or self._expired(conn, time.monotonic())
        ):
            self._discard(conn)
        elif session.in_tx:
            self.spawn(self._reset(conn))
        else:
            self._checkin(conn)

    async def _reset(self, conn: MySQLConnection) -> None:
        try:
            await conn.reset()
        finally:
            self.release(conn)

    def _checkin(self, conn: MySQLConnection) -> None:
        conn.last_used = time.monotonic()
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: MySQLConnection) -> None:
        if conn.closing:
            return
        conn.closing = True
        self.spawn(self._close_connection(conn))

    async def _close_connection(self, conn: MySQLConnection) -> None:
        try:
            await conn.close()
        finally:
            self._slot_freed()

    def _slot_freed(self) -> None:
        self._size -= 1
        self._wake()

    def _wake(self) -> None:
        """A slot is free: let the first waiter open a connection in it."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # -- upkeep ----------------------------------------------------------------------

    def _fill(self) -> None:
        """Open connections in the background up to ``min_connections``."""
        while self._is_open and self._size < self._min:
            self._size += 1
            self.spawn(self._fill_one())

    async def _fill_one(self) -> None:
        try:
            conn = await self._connect()
        except OperationalError as exc:
            _log.debug("could not open a MySQL connection to %s: %s", self._where, exc)
            return
        self.release(conn)

    async def _maintain(self) -> None:
        timeouts = [t for t in (self._idle_timeout, self._max_lifetime) if t is not None]
        interval = min(30.0, max(0.05, min(timeouts) / 2)) if timeouts else 30.0
        while True:
            await asyncio.sleep(interval)
            self._prune(time.monotonic())
            self._fill()

    def _prune(self, now: float) -> None:
        idle_timeout = self._idle_timeout
        keep: deque[MySQLConnection] = deque()
        surplus = self._size - self._min
        for conn in self._idle:
            stale = idle_timeout is not None and now - conn.last_used > idle_timeout
            if self._expired(conn, now) or (stale and surplus > 0):
                surplus -= 1
                self._discard(conn)
            else:
                keep.append(conn)
        self._idle = keep

    # -- side channel ----------------------------------------------------------------

    async def kill_query(self, thread_id: int) -> bool:
        """Stop the statement session ``thread_id`` is running, from a side
        connection. False if that could not be done."""
        params = dict(self._config.params)
        params["connect_timeout"] = max(1, min(int(params["connect_timeout"]), int(KILL_TIMEOUT)))
        loop = asyncio.get_running_loop()
        if self._killer is None:
            # Its own threads: a busy default executor must not delay the stop.
            self._killer = ThreadPoolExecutor(
                2, thread_name_prefix=f"oxyde-mysql-{self._name}-kill"
            )
        try:
            await asyncio.wait_for(
                loop.run_in_executor(self._killer, _kill_query, params, thread_id), KILL_TIMEOUT
            )
        except (MySQLdb.Error, OSError, RuntimeError, TimeoutError) as exc:
            _log.warning("KILL QUERY %d on %s failed: %s", thread_id, self._where, exc)
            return False
        return True

    # -- errors ----------------------------------------------------------------------

    def _timeout_error(self, doing: str) -> OperationalError:
        return OperationalError(
            f"database {self._name!r} ({self._where}): no connection within "
            f"acquire_timeout={self._acquire_timeout:g}s while {doing} "
            f"(max_connections={self._max}, in use={self._size - len(self._idle)})"
        )

    def _closed_error(self) -> OperationalError:
        return OperationalError(f"database {self._name!r} ({self._where}) is not connected")


class _Lease(Lease):
    __slots__ = ("_backend",)

    def __init__(self, backend: MySQLBackend) -> None:
        super().__init__(backend._lease_what)
        self._backend = backend

    async def _take(self) -> MySQLConnection:
        conn = await self._backend._acquire()
        self._backend._lent.add(conn)
        return conn

    async def _give(self, conn: MySQLConnection, failed: bool) -> None:
        self._backend.release(conn)
