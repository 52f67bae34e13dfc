"""One pooled MySQL connection as an ``Executor``: ordering, cancellation, transactions.

Every call runs on the connection's worker thread (``worker.py``) while the connection
is held by an ``asyncio.Lock``, so only one operation runs at a time. When the
awaiting task is cancelled the thread keeps running; the connection then stays locked
(and out of the pool) until a recovery task has seen the thread return, stopping a long
statement with ``KILL QUERY`` sent from a side connection after a short grace period.
A call cancelled inside a transaction leaves the transaction *aborted*: every further
statement raises until it is rolled back, so work cannot silently continue outside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import socket
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from oxyde.backends.commit_point import redeliver_cancellation
from oxyde.backends.mysql.session import Row, Session, normalize_isolation
from oxyde.backends.mysql.worker import Worker
from oxyde.exceptions import ConnectionLostError, OperationalError
from oxyde.sql.dialects.base import Dialect

if TYPE_CHECKING:
    from oxyde.backends.capabilities import Capabilities
    from oxyde.backends.mysql.pool import MySQLBackend

T = TypeVar("T")

#: A cancelled call this quick to return is left to finish rather than killed.
CANCEL_GRACE: Final = 0.05
#: After ``KILL QUERY`` the thread should return at once; past this, the socket is shut.
KILL_WAIT: Final = 2.0


def _noop() -> None:
    return None


def shutdown_socket(fd: int) -> None:
    """Shut the connection's socket down so a call blocked on it returns with an error.

    Works on a duplicate of the descriptor: shutdown acts on the socket itself, and
    the driver keeps owning (and later closes) the original descriptor.
    """
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


class MySQLConnection:
    __slots__ = (
        "__weakref__",
        "_lock",
        "_pool",
        "_probe",
        "_recovering",
        "_savepoint_seq",
        "_streaming",
        "_tx_aborted",
        "closing",
        "created_at",
        "last_used",
        "on_idle",
        "session",
        "worker",
    )

    def __init__(self, session: Session, worker: Worker, pool: MySQLBackend) -> None:
        self.session = session
        self.worker = worker
        self._pool = pool
        self._lock = asyncio.Lock()
        self._recovering: asyncio.Task[None] | None = None
        self._streaming = False
        self._tx_aborted = False
        self._savepoint_seq = 0
        self.created_at = self.last_used = time.monotonic()
        #: the pool has started closing it
        self.closing = False
        # A connection dropped without close() must not leave its thread waiting forever.
        weakref.finalize(self, worker.stop)
        #: set by the pool when the connection is released while a recovery still runs
        self.on_idle: Callable[[MySQLConnection], None] | None = None
        # Registered once: the pool asks it each time it lends the connection.
        self._probe = select.poll()
        self._probe.register(session.fd, select.POLLIN | select.POLLERR | select.POLLHUP)

    def __repr__(self) -> str:
        s = self.session
        state = "broken" if s.broken else "in transaction" if s.in_tx else "idle"
        return f"<MySQLConnection thread_id={self.session.thread_id} {state}>"

    # -- state -----------------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        return self._pool.dialect

    @property
    def capabilities(self) -> Capabilities:
        return self._pool.capabilities

    @property
    def in_transaction(self) -> bool:
        return self.session.in_tx

    @property
    def thread_id(self) -> int:
        """The server's id of this session (``CONNECTION_ID()``)."""
        return self.session.thread_id

    @property
    def busy(self) -> bool:
        """Held by an operation or by the recovery of a cancelled one."""
        return self._lock.locked()

    @property
    def reusable(self) -> bool:
        """Idle in every sense: may go back to the pool as it is."""
        s = self.session
        return not (
            s.broken or s.in_tx or s.dirty or s.result is not None or self._tx_aborted or self.busy
        )

    def server_spoke(self) -> bool:
        """Whether the idle connection's socket has something to say (EOF or an error
        packet): the server has closed it. One ``poll`` call, no round trip."""
        return bool(self._probe.poll(0))

    def _check(self) -> None:
        s = self.session
        if s.broken:
            raise ConnectionLostError("the MySQL connection is closed or was lost", code=2006)
        if self._tx_aborted:
            raise OperationalError(
                "a statement of this transaction was cancelled; roll the transaction back"
            )

    # -- running jobs ----------------------------------------------------------------

    async def _acquire(self) -> None:
        if self._streaming:
            # Waiting would deadlock a caller that iterates the stream; MySQL cannot run
            # a statement while an unbuffered result is being read anyway.
            raise OperationalError(
                "the connection is reading a streamed result; finish or close the stream first"
            )
        await self._lock.acquire()

    def _release(self) -> None:
        if self._recovering is None:
            self._unlock()

    def _unlock(self) -> None:
        self._lock.release()
        callback = self.on_idle
        if callback is not None and not self._lock.locked():
            self.on_idle = None
            callback(self)

    async def _job(self, fn: Callable[..., T], *args: Any) -> T:
        """Await ``fn(*args)`` on the worker; the caller holds the lock."""
        fut = self.worker.submit(fn, *args)
        try:
            return await fut
        except asyncio.CancelledError:
            self._start_recovery()
            raise

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        await self._acquire()
        try:
            self._check()
            return await self._job(fn, *args)
        finally:
            self._release()

    # -- cancellation ----------------------------------------------------------------

    def _start_recovery(self) -> None:
        if self._recovering is not None:
            return
        self._recovering = self._pool.spawn(self._recover())

    async def _recover(self) -> None:
        """Wait until the cancelled call has returned on the thread, stopping it if it
        runs on; then decide what the connection is good for. Holds the lock."""
        session = self.session
        probe = self.worker.submit(_noop)
        try:
            try:
                await asyncio.wait_for(asyncio.shield(probe), CANCEL_GRACE)
            except TimeoutError:
                killed = await self._pool.kill_query(session.thread_id)
                try:
                    await asyncio.wait_for(asyncio.shield(probe), KILL_WAIT if killed else 0.0)
                except TimeoutError:
                    shutdown_socket(session.fd)
                    await asyncio.shield(probe)
            if session.result is not None:
                # An unread unbuffered result: the protocol is mid-stream.
                session.broken = True
            elif session.in_tx and not session.broken:
                self._tx_aborted = True
        except BaseException:
            # Even the recovery was interrupted: assume the worst. Later jobs (the close)
            # still run after the cancelled one, in order, on the same thread.
            session.broken = True
            raise
        finally:
            self._recovering = None
            self._unlock()

    # -- Executor --------------------------------------------------------------------

    async def fetch(self, sql: str, params: Sequence[Any], *, write: bool = False) -> list[Row]:
        return (await self._call(self.session.fetch, sql, params, write, False))[1]

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        return await self._call(self.session.fetch, sql, params, write, True)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        return await self._call(self.session.execute, sql, params)

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        if not params_seq:
            return 0
        if self.session.in_tx:
            return await self._call(self.session.execute_many, sql, params_seq)
        # A transaction of its own, committed on the worker: a cancellation stops the
        # statements if it can, and whatever happened is reported (the commit point).
        await self._acquire()
        try:
            self._check()
            job = self.worker.submit(self.session.execute_many, sql, params_seq)
            cancelled = await self._outcome_of(job)
        finally:
            self._release()
        if cancelled:
            if job.exception() is None:
                redeliver_cancellation()
                return job.result()
            raise asyncio.CancelledError
        return job.result()

    async def _outcome_of(self, job: asyncio.Future[Any]) -> bool:
        """Wait for ``job`` whatever happens to the caller; once cancelled, give it
        ``CANCEL_GRACE``, then stop its statement. Whether the caller was cancelled."""
        cancelled = killed = False
        while not job.done():
            try:
                if cancelled and not killed:
                    try:
                        await asyncio.wait_for(asyncio.shield(job), CANCEL_GRACE)
                    except TimeoutError:
                        killed = True
                        await self._pool.kill_query(self.session.thread_id)
                else:
                    await asyncio.shield(job)
            except asyncio.CancelledError:
                cancelled = True
            except Exception:
                pass  # the job's own error: the caller reads it from the job
        if killed:
            # The KILL may have arrived after the batch ended: MariaDB then kills the
            # session's next statement. A no-op takes that hit here.
            absorb = self.worker.submit(self.session.run_control, b"DO 0")
            while not absorb.done():
                try:
                    await asyncio.shield(absorb)
                except asyncio.CancelledError:
                    cancelled = True
            absorb.exception()  # error 1317 there is that late KILL: expected, dropped
        return cancelled

    async def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        session = self.session
        await self._acquire()
        self._streaming = True
        try:
            self._check()
            await self._job(session.stream_open, sql, params)
            while session.result is not None:
                rows = await self._job(session.stream_next, chunk_size)
                if rows:
                    yield rows
        finally:
            self._streaming = False
            try:
                if self._recovering is None and session.result is not None:
                    # Left early. Inside a transaction the connection must survive, so
                    # read the rest away; otherwise closing it is cheaper than reading
                    # an unknown number of rows.
                    if session.in_tx:
                        await self._job(session.stream_drain)
                    else:
                        session.broken = True
            finally:
                self._release()

    @contextlib.asynccontextmanager
    async def atomic_block(self) -> AsyncIterator[MySQLConnection]:
        if self.in_transaction:
            self._savepoint_seq += 1
            name = f"oxyde_block_{self._savepoint_seq}"
            await self.savepoint(name)
            try:
                yield self
            except BaseException:
                await asyncio.shield(self.rollback_to_savepoint(name))
                raise
            await self.release_savepoint(name)
        else:
            await self.begin()
            try:
                yield self
            except BaseException:
                await asyncio.shield(self.rollback())
                raise
            await self.commit()

    # -- Connection ------------------------------------------------------------------

    async def begin(self, *, isolation: str | None = None, read_only: bool = False) -> None:
        level = normalize_isolation(isolation) if isolation is not None else None
        if self.session.in_tx:
            # Checked again on the thread, in call order; this only answers sooner.
            raise OperationalError("a transaction is already open on this connection")
        await self._call(self.session.begin, level, read_only)
        self._tx_aborted = False

    async def commit(self) -> None:
        if self._tx_aborted:
            await self.rollback()
            raise OperationalError(
                "a statement of this transaction was cancelled; it has been rolled back"
            )
        await self._call(self.session.commit)

    async def rollback(self) -> None:
        if self._streaming:
            # The unread result blocks ROLLBACK; closing the connection rolls back.
            self.session.broken = True
            self.session.in_tx = False
            self._tx_aborted = False
            return
        await self._acquire()
        try:
            self._tx_aborted = False
            if self.session.broken:
                # Closing the connection is what rolls the transaction back.
                self.session.in_tx = False
                return
            await self._job(self.session.rollback)
        finally:
            self._release()

    def _savepoint_sql(self, verb: bytes, name: str) -> bytes:
        return verb + self.dialect.quote_ident(name).encode()

    async def savepoint(self, name: str) -> None:
        await self._call(self.session.run_control, self._savepoint_sql(b"SAVEPOINT ", name))

    async def release_savepoint(self, name: str) -> None:
        stmt = self._savepoint_sql(b"RELEASE SAVEPOINT ", name)
        await self._call(self.session.run_control, stmt)

    async def rollback_to_savepoint(self, name: str) -> None:
        stmt = self._savepoint_sql(b"ROLLBACK TO SAVEPOINT ", name)
        await self._acquire()
        try:
            if self.session.broken:
                raise ConnectionLostError("the MySQL connection is closed or was lost", code=2006)
            await self._job(self.session.run_control, stmt)
            # The interrupted statement ran after the savepoint, so its effects are gone.
            self._tx_aborted = False
        finally:
            self._release()

    # -- pool support ----------------------------------------------------------------

    async def ping(self) -> None:
        await self._call(self.session.ping)

    async def reset(self) -> None:
        """Roll back whatever a released connection left open."""
        await self.rollback()

    async def close(self) -> None:
        """Close the driver connection on its thread, after any job still queued."""
        try:
            await asyncio.shield(self.worker.submit(self.session.close))
        finally:
            self.worker.stop()
