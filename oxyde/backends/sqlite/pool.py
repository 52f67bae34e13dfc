"""A pool of SQLite connections of one role (the writer, or the readers).

Waiters are served first come, first served: a returned connection goes straight to
the oldest waiter. A connection comes back into the pool only when it is idle: one
left in a transaction is rolled back, and one that cannot be made idle is closed and
its slot given to the next waiter. Idle and lifetime limits are checked when a
connection is taken or returned, so the pool runs no timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable

from oxyde.backends.shielding import shielded
from oxyde.backends.sqlite.connection import SQLiteConnection
from oxyde.exceptions import OperationalError

__all__ = ["ConnectionPool"]


class ConnectionPool:
    def __init__(
        self,
        *,
        role: str,
        capacity: int,
        minimum: int,
        connect: Callable[[], Awaitable[SQLiteConnection]],
        idle_timeout: float | None,
        max_lifetime: float | None,
        test_before_acquire: bool,
    ) -> None:
        self.role = role
        self.capacity = capacity
        self.minimum = min(minimum, capacity)
        self._connect = connect
        self._idle_timeout = idle_timeout
        self._max_lifetime = max_lifetime
        self._test = test_before_acquire
        #: most recently returned last, so the oldest idle ones expire first
        self._idle: deque[SQLiteConnection] = deque()
        self._in_use: set[SQLiteConnection] = set()
        #: connections open or being opened, lent or not
        self._size = 0
        self._waiters: deque[asyncio.Future[SQLiteConnection | None]] = deque()
        self._closed = False
        #: connections that failed their check or came back closed
        self.lost = 0

    # -- taking ------------------------------------------------------------------

    def take_nowait(self) -> SQLiteConnection | None:
        """An idle connection if one can be lent without awaiting, else None."""
        if self._closed or self._test or self._waiters:
            return None
        if self._idle_timeout is None and self._max_lifetime is None:
            conn = self._idle.pop() if self._idle else None
        else:
            conn = self._pop_idle()
        if conn is not None:
            self._in_use.add(conn)
        return conn

    async def acquire(self) -> SQLiteConnection:
        while True:
            if self._closed:
                raise OperationalError("the connection pool is closed")
            conn = self._pop_idle() if not self._waiters else None
            if conn is None:
                if self._size < self.capacity:
                    conn = await self._open()
                else:
                    conn = await self._wait()
                    if conn is None:
                        continue  # a slot was freed: open or take again
            if self._test and not await self._healthy(conn):
                continue
            self._in_use.add(conn)
            return conn

    def _pop_idle(self) -> SQLiteConnection | None:
        idle = self._idle
        now = time.monotonic()
        # The least recently used ones sit on the left: retire those past their limits
        # while the pool is above its minimum.
        while idle and self._size > self.minimum and self._expired(idle[0], now):
            self._discard(idle.popleft())
        while idle:
            conn = idle.pop()
            if not self._expired(conn, now) or self._size <= self.minimum:
                return conn
            self._discard(conn)
        return None

    def _expired(self, conn: SQLiteConnection, now: float) -> bool:
        if self._idle_timeout is not None and now - conn.last_used > self._idle_timeout:
            return True
        return self._max_lifetime is not None and now - conn.created_at > self._max_lifetime

    async def _open(self) -> SQLiteConnection:
        self._size += 1
        try:
            return await self._connect()
        except BaseException:
            self._size -= 1
            self._wake_one()
            raise

    async def _wait(self) -> SQLiteConnection | None:
        future: asyncio.Future[SQLiteConnection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            return await future
        except BaseException:
            if not future.done() or future.cancelled():
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)
            elif future.exception() is None:
                # Handed a connection (or a free slot) just as we gave up: pass it on.
                conn = future.result()
                if conn is not None:
                    self._give(conn)
                else:
                    self._wake_one()
            raise

    async def _healthy(self, conn: SQLiteConnection) -> bool:
        try:
            await conn.ping()
        except asyncio.CancelledError:
            self._give(conn)
            raise
        except Exception:
            self.lost += 1
            self._discard(conn)
            return False
        return True

    # -- returning ---------------------------------------------------------------

    def release_nowait(self, conn: SQLiteConnection) -> bool:
        """Return an idle connection; False when it needs ``release`` (a rollback)."""
        # the connection's own mirrors, not its properties: this runs after every call
        in_tx, closed = conn._in_tx, conn._closed
        if in_tx and not (closed or conn.broken or self._closed):
            return False
        self._in_use.discard(conn)
        unusable = closed or conn.broken or self._closed or in_tx
        if closed and not self._closed:
            self.lost += 1
        if unusable or self._past_lifetime(conn):
            self._discard(conn)
        else:
            self._give(conn)
        return True

    async def release(self, conn: SQLiteConnection) -> None:
        """Return a connection, rolling back what it left open."""
        if self.release_nowait(conn):
            return
        try:
            await shielded(conn.rollback())
        except asyncio.CancelledError:
            self.release_nowait(conn)
            raise
        except Exception:
            conn.broken = True
        self.release_nowait(conn)

    def _past_lifetime(self, conn: SQLiteConnection) -> bool:
        return (
            self._max_lifetime is not None
            and self._size > self.minimum
            and time.monotonic() - conn.created_at > self._max_lifetime
        )

    def _give(self, conn: SQLiteConnection) -> None:
        self._in_use.discard(conn)
        if self._closed:
            self._discard(conn)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.last_used = time.monotonic()  # idle from now (idle_timeout)
        self._idle.append(conn)

    def _discard(self, conn: SQLiteConnection) -> None:
        self._in_use.discard(conn)
        self._size -= 1
        conn.close_nowait()
        self._wake_one()

    def _wake_one(self) -> None:
        """Tell the oldest waiter a slot is free (it opens a connection itself)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # -- opening and closing -------------------------------------------------------

    async def fill(self) -> None:
        """Open connections up to the minimum (called by ``open()``)."""
        while self._size < self.minimum:
            conn = await self._open()
            self._give(conn)

    async def close(self) -> None:
        self._closed = True
        error = OperationalError("the connection pool is closed")
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        idle, self._idle = list(self._idle), deque()
        for conn in idle:
            self._size -= 1
            await conn.close()
        # Lent connections are closed when they come back.

    def stats(self) -> dict[str, int]:
        return {
            "size": self._size,
            "idle": len(self._idle),
            "in_use": len(self._in_use),
            "waiting": sum(1 for w in self._waiters if not w.done()),
            "connections_lost": self.lost,
        }
